/* embedviz/score.h - placeholder: filled in by the score capability. */
#ifndef EMBEDVIZ_SCORE_H
#define EMBEDVIZ_SCORE_H
#include "embedviz/core.h"
#endif
