/* embedviz/pca.h - placeholder: filled in by the pca capability. */
#ifndef EMBEDVIZ_PCA_H
#define EMBEDVIZ_PCA_H
#include "embedviz/core.h"
#endif
