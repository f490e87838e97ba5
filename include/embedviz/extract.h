/* embedviz/extract.h - placeholder: filled in by the extract capability. */
#ifndef EMBEDVIZ_EXTRACT_H
#define EMBEDVIZ_EXTRACT_H
#include "embedviz/core.h"
#endif
