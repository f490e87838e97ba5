/* embedviz/knn.h - placeholder: filled in by the knn capability. */
#ifndef EMBEDVIZ_KNN_H
#define EMBEDVIZ_KNN_H
#include "embedviz/core.h"
#endif
