/* cmd_extract.c - embedviz extract: layer activations of a model. */
#include "cli.h"

#ifndef EVC_HAVE_EXTRACT
int evc_cmd_extract(int argc, char **argv) {
  return evc_unavailable(argc, argv, "extract", "extraction");
}
#endif
