/* cmd_tsne.c - embedviz tsne: a t-SNE map of a matrix. */
#include "cli.h"

#ifndef EVC_HAVE_TSNE
int evc_cmd_tsne(int argc, char **argv) {
  return evc_unavailable(argc, argv, "tsne", "t-SNE");
}
#endif
