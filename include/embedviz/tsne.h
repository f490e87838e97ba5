/* embedviz/tsne.h - placeholder: filled in by the tsne capability. */
#ifndef EMBEDVIZ_TSNE_H
#define EMBEDVIZ_TSNE_H
#include "embedviz/core.h"
#endif
