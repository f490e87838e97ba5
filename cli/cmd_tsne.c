/* cmd_tsne.c - embedviz tsne: a t-SNE map of a matrix. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "steps.h"

static const char TSNE_HELP[] =
    "Usage: embedviz tsne -i X.npy -o MAP.npy [options]\n"
    "A t-SNE map of the rows of X (n x d): rows near in X stay near in the map.\n\n"
    "  -i, --input FILE          the matrix (.npy or .csv)\n"
    "  -o, --output FILE         the map, n x dims (float32 .npy or .csv)\n"
    "      --transform FILE      also place these rows (m x d) on the map, which stays\n"
    "                            fixed (openTSNE's transform; the same PCA first) ...\n"
    "      --transform-output FILE  ... and write their m x dims positions here\n"
    "  -n, --dims N              map dimensions (default 2; Barnes-Hut: 1 to 3)\n"
    "  -p, --perplexity P        effective number of neighbours (default 30)\n"
    "      --pca K               reduce X to K principal components first (default 50\n"
    "                            when d > 50; 0 = never)\n"
    "      --method M            auto (default), exact, barnes-hut or fft (FFT-\n"
    "                            interpolated repulsion, 1-D and 2-D; auto takes it\n"
    "                            for 2-D maps from 30,000 points)\n"
    "      --theta T             Barnes-Hut accuracy in [0, 1] (default 0.5)\n"
    "      --metric NAME         input distance: euclidean (default), sqeuclidean, cosine,\n"
    "                            cityblock, minkowski, chebyshev\n"
    "      --iterations N        iterations in all (default 1000)\n"
    "      --learning-rate R     0 (default) = automatic, max(n / 12 / 4, 50); fft:\n"
    "                            n / 12 / 4 while exaggerated, then n / 4\n"
    "      --early-exaggeration E     default 12\n"
    "      --exaggeration-iterations N default 250\n"
    "      --init I              pca (default) or random\n"
    "      --seed N              seed (default 0)\n"
    "  -t, --threads N           threads (default: all cores)\n"
    "  -q, --quiet               no progress\n"
    "  -h, --help                this help\n";

static int name_index(const char *opt, const char *s, const char *const *names, int n, double *out) {
  for (int k = 0; k < n; k++)
    if (!strcmp(s, names[k])) { *out = k; return 0; }
  return evc_err("unknown %s '%s'", opt, s);
}

static int tsne_parse(int argc, char **argv, evc_tsne_opts *o, const char **in, const char **out,
                      const char **tin, const char **tout) {
  static const struct option lo[] = {
      {"input", 1, 0, 'i'}, {"output", 1, 0, 'o'}, {"dims", 1, 0, 'n'}, {"perplexity", 1, 0, 'p'},
      {"pca", 1, 0, 'P'}, {"method", 1, 0, 'M'}, {"theta", 1, 0, 'T'}, {"metric", 1, 0, 'm'},
      {"iterations", 1, 0, 'I'}, {"learning-rate", 1, 0, 'L'}, {"early-exaggeration", 1, 0, 'E'},
      {"exaggeration-iterations", 1, 0, 'X'}, {"init", 1, 0, 'N'}, {"seed", 1, 0, 'S'},
      {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {"transform", 1, 0, 'R'},
      {"transform-output", 1, 0, 'U'}, {0, 0, 0, 0}};
  static const char *const methods[] = {"auto", "exact", "barnes-hut", "fft"}, *const inits[] = {"pca", "random"};
  long v;
  int c;
  evc_tsne_defaults(o);
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:o:n:p:t:qh", lo, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'i': *in = optarg; break;
    case 'o': *out = optarg; break;
    case 'R': *tin = optarg; break;
    case 'U': *tout = optarg; break;
    case 'n': bad = evc_parse_long("--dims", optarg, 1, 100, &v); o->dims = (int)v; break;
    case 'p': bad = evc_parse_double("--perplexity", optarg, 1, 1e6, &o->perplexity); break;
    case 'P': bad = evc_parse_long("--pca", optarg, 0, 1 << 20, &v); o->pca = v; break;
    case 'M': bad = name_index("--method", optarg, methods, 4, &o->method); break;
    case 'T': bad = evc_parse_double("--theta", optarg, 0, 1, &o->theta); break;
    case 'm': bad = evc_parse_metric(optarg, &o->metric); break;
    case 'I': bad = evc_parse_long("--iterations", optarg, 1, 1L << 30, &v); o->iterations = (double)v; break;
    case 'L': bad = evc_parse_double("--learning-rate", optarg, 0, 1e9, &o->learning_rate); break;
    case 'E': bad = evc_parse_double("--early-exaggeration", optarg, 1, 1e6, &o->early_exaggeration); break;
    case 'X': bad = evc_parse_long("--exaggeration-iterations", optarg, 0, 1L << 30, &v); o->exaggeration_iterations = (double)v; break;
    case 'N': bad = name_index("--init", optarg, inits, 2, &o->init); break;
    case 'S': bad = evc_parse_long("--seed", optarg, 0, 2147483647L, &v); o->seed = (double)v; break;
    case 't': bad = evc_parse_long("--threads", optarg, 0, 1024, &v); o->threads = (double)v; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(TSNE_HELP, stdout); return -1;
    default: fputs("Try 'embedviz tsne --help'.\n", stderr); return 2;
    }
    if (bad) return 2;
  }
  if (!*in || !*out) return evc_err("tsne needs --input and --output (see embedviz tsne --help)") + 1;
  if (!*tin != !*tout)
    return evc_err("--transform and --transform-output go together: give both or neither") + 1;
  if (optind < argc) return evc_err("tsne: unexpected argument '%s'", argv[optind]) + 1;
  return 0;
}

int evc_cmd_tsne(int argc, char **argv) {
  evc_tsne_opts o;
  const char *in = NULL, *out = NULL, *tin = NULL, *tout = NULL;
  int rc = tsne_parse(argc, argv, &o, &in, &out, &tin, &tout);
  if (rc) return rc < 0 ? 0 : rc;
  evc_mat x = {0}, map = {0}, tx = {0}, tmap = {0};
  double kl = NAN, t0 = evc_now();
  if (EVC_OUTS_CHECK(out, tout)) return 1;
  if (evc_read_any(in, 0, &x)) return 1;
  if (tin && evc_read_any(tin, 0, &tx)) {
    evc_mat_free(&x);
    return 1;
  }
  rc = evc_tsne_run_transform(&o, "tsne", &x, tin ? &tx : NULL, &map, tin ? &tmap : NULL, &kl);
  if (!rc && evc_write_any(out, &map, 0, NULL)) rc = 1;
  if (!rc && tin && evc_write_any(tout, &tmap, 0, NULL)) rc = 1;
  if (!rc) evc_info("tsne: %zu x %zu -> %d-D map in %.2f s, KL divergence %.4f", x.rows, x.cols, o.dims,
                    evc_now() - t0, kl);
  if (!rc && tin) evc_info("tsne: %zu --transform rows placed on the map", tx.rows);
  evc_mat_free(&x);
  evc_mat_free(&map);
  evc_mat_free(&tx);
  evc_mat_free(&tmap);
  return rc;
}
