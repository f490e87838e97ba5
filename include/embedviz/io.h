/* embedviz/io.h - placeholder: filled in by the io capability. */
#ifndef EMBEDVIZ_IO_H
#define EMBEDVIZ_IO_H
#include "embedviz/core.h"
#endif
