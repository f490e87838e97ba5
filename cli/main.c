/*
 * main.c - embedviz, the command-line face of libembedviz.
 *
 *   embedviz <command> [options]      embedviz <command> --help
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int evc_cmd_issues(int argc, char **argv); /* cmd_issues.c */
int evc_cmd_explain(int argc, char **argv); /* cmd_explain.c */

static const evc_command COMMANDS[] = {
    {"extract", "layer activations of a TorchScript model on a data set -> .npy", evc_cmd_extract},
    {"pca", "principal components of a matrix: scores, components, explained variance", evc_cmd_pca},
    {"tsne", "a 2-D or 3-D t-SNE map of a matrix", evc_cmd_tsne},
    {"umap", "a UMAP map of a matrix (and of new rows placed in it)", evc_cmd_umap},
    {"knn", "exact k nearest neighbours (of a matrix in itself, or of queries)", evc_cmd_knn},
    {"ambiguity", "how sure each prediction is: ambiguity, margin, entropy, top classes", evc_cmd_ambiguity},
    {"confusion", "confusion matrix and per-class accuracy", evc_cmd_confusion},
    {"issues", "rows whose labels are probably wrong, most likely first", evc_cmd_issues},
    {"plot", "pictures: class-coloured maps, image maps, scree, confusion (PNG)", evc_cmd_plot},
    {"report", "the whole pipeline: a report folder with index.html and its pictures", evc_cmd_report},
    {"explain", "one input's story and why it sits where it sits on the maps (one picture)", evc_cmd_explain},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out) {
  fprintf(out,
          "Usage: embedviz <command> [options]\n"
          "Show what a neural network has learned (libembedviz %s).\n\nCommands:\n",
          ev_version_string());
  for (size_t k = 0; k < N_COMMANDS; k++) fprintf(out, "  %-10s %s\n", COMMANDS[k].name, COMMANDS[k].summary);
  fprintf(out,
          "\nEvery command takes --help, --quiet (no progress or timings) and --threads N.\n"
          "Matrices are read and written as .npy (NumPy) files; a name ending in .csv means CSV.\n"
          "Exit status: 0 on success, 1 on failure (with the reason on standard error),\n"
          "2 on a usage error.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    if (argc > 2 && strcmp(cmd, "help") == 0) {
      for (size_t k = 0; k < N_COMMANDS; k++)
        if (!strcmp(argv[2], COMMANDS[k].name)) {
          char *args[] = {argv[2], "--help", NULL};
          return COMMANDS[k].run(2, args);
        }
    }
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
    printf("embedviz %s (libembedviz %s)\n", EV_VERSION_STRING, ev_version_string());
    return 0;
  }
  for (size_t k = 0; k < N_COMMANDS; k++)
    if (!strcmp(cmd, COMMANDS[k].name)) return COMMANDS[k].run(argc - 1, argv + 1);
  fprintf(stderr, "embedviz: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
