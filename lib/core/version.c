#include "core.h"

unsigned ev_version_number(void) { return EV_VERSION_NUMBER; }
const char *ev_version_string(void) { return EV_VERSION_STRING; }
