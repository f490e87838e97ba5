/* cmd_extract.c - embedviz extract: layer activations of a model. */
#include "cli.h"

#ifndef EVC_HAVE_EXTRACT
int evc_cmd_extract(int argc, char **argv) {
  return evc_err("extract is not available: this libembedviz has no extraction yet (embedviz/extract.h)");
}
#endif
