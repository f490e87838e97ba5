/* cmd_knn.c - embedviz knn: exact k nearest neighbours. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "steps.h"

static const char KNN_HELP[] =
    "Usage: embedviz knn -i REF.npy [-q QUERIES.npy] -o INDICES.npy [options]\n"
    "The k nearest rows of REF for every row of QUERIES, or, without --queries,\n"
    "for every row of REF among the others (the row itself left out).\n\n"
    "  -i, --input FILE        reference matrix, n x d (.npy or .csv)\n"
    "  -q, --queries FILE      query matrix, m x d (default: the reference itself)\n"
    "  -o, --output FILE       indices, m x k, nearest first (int64 .npy or .csv)\n"
    "  -d, --distances FILE    distances, m x k (float32 .npy or .csv)\n"
    "  -k, --neighbours K      neighbours per row (default 10)\n"
    "  -m, --metric NAME       euclidean (default), sqeuclidean, cosine, cityblock,\n"
    "                          minkowski or chebyshev\n"
    "  -p, --minkowski-p P     p of the Minkowski distance (default 2)\n"
    "  -t, --threads N         threads (default: all cores)\n"
    "      --quiet             no progress\n"
    "  -h, --help              this help\n";

typedef struct knn_opts {
  const char *in, *queries, *out, *dist;
  long k;
  double metric, p, threads;
} knn_opts;

static int knn_parse(int argc, char **argv, knn_opts *o) {
  static const struct option lo[] = {
      {"input", 1, 0, 'i'}, {"queries", 1, 0, 'q'}, {"output", 1, 0, 'o'}, {"distances", 1, 0, 'd'},
      {"neighbours", 1, 0, 'k'}, {"neighbors", 1, 0, 'k'}, {"metric", 1, 0, 'm'}, {"minkowski-p", 1, 0, 'p'},
      {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'Q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  long v;
  int c;
  *o = (knn_opts){.k = 10, .p = 2};
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:q:o:d:k:m:p:t:h", lo, NULL)) != -1) {
    switch (c) {
    case 'i': o->in = optarg; break;
    case 'q': o->queries = optarg; break;
    case 'o': o->out = optarg; break;
    case 'd': o->dist = optarg; break;
    case 'k': if (evc_parse_long("--neighbours", optarg, 1, 1 << 20, &o->k)) return 2; break;
    case 'm': if (evc_parse_metric(optarg, &o->metric)) return 2; break;
    case 'p': if (evc_parse_double("--minkowski-p", optarg, 1, 1e6, &o->p)) return 2; break;
    case 't': if (evc_parse_long("--threads", optarg, 0, 1024, &v)) return 2; o->threads = (double)v; break;
    case 'Q': evc_quiet = 1; break;
    case 'h': fputs(KNN_HELP, stdout); return -1;
    default: fputs("Try 'embedviz knn --help'.\n", stderr); return 2;
    }
  }
  if (!o->in || !o->out) return evc_err("knn needs --input and --output (see embedviz knn --help)") + 1;
  if (optind < argc) return evc_err("knn: unexpected argument '%s'", argv[optind]) + 1;
  return 0;
}

int evc_cmd_knn(int argc, char **argv) {
  knn_opts o;
  int rc = knn_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  evc_mat ref = {0}, q = {0};
  double t0 = evc_now();
  if (EVC_OUTS_CHECK(o.out, o.dist)) return 1;
  if (evc_read_any(o.in, 0, &ref) || (o.queries && evc_read_any(o.queries, 0, &q))) {
    evc_mat_free(&ref);
    return 1;
  }
  evc_mat ind = {0}, dist = {0};
  rc = evc_knn_run(&ref, o.queries ? &q : NULL, (size_t)o.k, o.metric, o.p, (long)o.threads, &ind,
                   o.dist ? &dist : NULL) ||
       evc_write_any(o.out, &ind, 0, NULL) || (o.dist && evc_write_any(o.dist, &dist, 0, NULL));
  if (!rc) evc_info("knn: %zu queries, %ld neighbours among %zu rows in %.2f s", o.queries ? q.rows : ref.rows,
                    o.k, ref.rows, evc_now() - t0);
  evc_mat_free(&ref);
  evc_mat_free(&q);
  evc_mat_free(&ind);
  evc_mat_free(&dist);
  return rc;
}
