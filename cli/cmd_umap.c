/* cmd_umap.c - embedviz umap: a UMAP map of a matrix, and of new rows. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "steps.h"

static const char UMAP_HELP[] =
    "Usage: embedviz umap -i X.npy -o MAP.npy [options]\n"
    "A UMAP map of the rows of X (n x d), with umap-learn's settings and defaults.\n\n"
    "  -i, --input FILE          the matrix (.npy or .csv)\n"
    "  -o, --output FILE         the map, n x dims (float32 .npy or .csv)\n"
    "      --transform FILE      also place these rows (m x d) in the map ...\n"
    "      --transform-output FILE  ... and write their m x dims positions here\n"
    "  -n, --dims N              map dimensions (default 2)\n"
    "  -k, --n-neighbors K       neighbours, the row itself included (default 15)\n"
    "      --min-dist D          default 0.1\n"
    "      --spread S            default 1.0\n"
    "      --metric NAME         euclidean (default), sqeuclidean, cosine, cityblock,\n"
    "                            minkowski, chebyshev\n"
    "      --epochs N            0 (default) = 500 up to 10,000 rows, 200 above\n"
    "      --learning-rate R     default 1.0\n"
    "      --init I              spectral (default) or random\n"
    "      --negative-sample-rate N  default 5\n"
    "      --knn-method M        the neighbour search: auto (default), exact or approximate\n"
    "      --pca K               reduce X to K principal components first (default 0 = never)\n"
    "      --seed N              seed (default 0): the same map for a seed on any thread count\n"
    "  -t, --threads N           threads (default: all cores)\n"
    "  -q, --quiet               no progress\n"
    "  -h, --help                this help\n";

typedef struct umap_opts {
  const char *in, *out, *tin, *tout;
  double dims, k, min_dist, spread, metric, epochs, lr, init, neg, seed, threads, knn;
  long pca;
} umap_opts;

static int umap_parse(int argc, char **argv, umap_opts *o) {
  static const struct option lo[] = {
      {"input", 1, 0, 'i'}, {"output", 1, 0, 'o'}, {"transform", 1, 0, 'T'},
      {"transform-output", 1, 0, 'U'}, {"dims", 1, 0, 'n'}, {"n-neighbors", 1, 0, 'k'},
      {"min-dist", 1, 0, 'D'}, {"spread", 1, 0, 'S'}, {"metric", 1, 0, 'm'}, {"epochs", 1, 0, 'E'},
      {"learning-rate", 1, 0, 'L'}, {"init", 1, 0, 'I'}, {"negative-sample-rate", 1, 0, 'N'},
      {"pca", 1, 0, 'P'}, {"seed", 1, 0, 's'}, {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'},
      {"knn-method", 1, 0, 'K'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  long v;
  int c;
  memset(o, 0, sizeof *o);
  ev_umap_param_default(EV_UMAP_N_COMPONENTS, &o->dims);
  ev_umap_param_default(EV_UMAP_N_NEIGHBORS, &o->k);
  ev_umap_param_default(EV_UMAP_MIN_DIST, &o->min_dist);
  ev_umap_param_default(EV_UMAP_SPREAD, &o->spread);
  ev_umap_param_default(EV_UMAP_LEARNING_RATE, &o->lr);
  ev_umap_param_default(EV_UMAP_NEGATIVE_SAMPLE_RATE, &o->neg);
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:o:n:k:t:qh", lo, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'i': o->in = optarg; break;
    case 'o': o->out = optarg; break;
    case 'T': o->tin = optarg; break;
    case 'U': o->tout = optarg; break;
    case 'n': bad = evc_parse_long("--dims", optarg, 1, 100, &v); o->dims = (double)v; break;
    case 'k': bad = evc_parse_long("--n-neighbors", optarg, 2, 1000, &v); o->k = (double)v; break;
    case 'D': bad = evc_parse_double("--min-dist", optarg, 0, 100, &o->min_dist); break;
    case 'S': bad = evc_parse_double("--spread", optarg, 1e-3, 100, &o->spread); break;
    case 'm': bad = evc_parse_metric(optarg, &o->metric); break;
    case 'E': bad = evc_parse_long("--epochs", optarg, 0, 10000000, &v); o->epochs = (double)v; break;
    case 'L': bad = evc_parse_double("--learning-rate", optarg, 1e-6, 1e3, &o->lr); break;
    case 'I':
      if (!strcmp(optarg, "spectral")) o->init = EV_UMAP_INIT_SPECTRAL;
      else if (!strcmp(optarg, "random")) o->init = EV_UMAP_INIT_RANDOM;
      else bad = evc_err("unknown --init '%s': use spectral or random", optarg);
      break;
    case 'N': bad = evc_parse_long("--negative-sample-rate", optarg, 0, 1000, &v); o->neg = (double)v; break;
    case 'K':
      if (!strcmp(optarg, "auto")) o->knn = EV_KNN_METHOD_AUTO;
      else if (!strcmp(optarg, "exact")) o->knn = EV_KNN_METHOD_EXACT;
      else if (!strcmp(optarg, "approximate")) o->knn = EV_KNN_METHOD_APPROXIMATE;
      else bad = evc_err("unknown --knn-method '%s': use auto, exact or approximate", optarg);
      break;
    case 'P': bad = evc_parse_long("--pca", optarg, 0, 1 << 20, &v); o->pca = v; break;
    case 's': bad = evc_parse_long("--seed", optarg, 0, 2147483647L, &v); o->seed = (double)v; break;
    case 't': bad = evc_parse_long("--threads", optarg, 0, 1024, &v); o->threads = (double)v; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(UMAP_HELP, stdout); return -1;
    default: fputs("Try 'embedviz umap --help'.\n", stderr); return 2;
    }
    if (bad) return 2;
  }
  if (!o->in || !o->out) return evc_err("umap needs --input and --output (see embedviz umap --help)") + 1;
  if (!o->tin != !o->tout)
    return evc_err("--transform and --transform-output go together: give both or neither") + 1;
  if (o->tin && o->pca > 0)
    return evc_err("--transform cannot be combined with --pca: reduce the rows yourself first") + 1;
  if (optind < argc) return evc_err("umap: unexpected argument '%s'", argv[optind]) + 1;
  return 0;
}

static ev_status configure(ev_umap *u, const umap_opts *o) {
  ev_status st;
  if ((st = ev_umap_set(u, EV_UMAP_N_COMPONENTS, o->dims)) || (st = ev_umap_set(u, EV_UMAP_N_NEIGHBORS, o->k)) ||
      (st = ev_umap_set(u, EV_UMAP_MIN_DIST, o->min_dist)) || (st = ev_umap_set(u, EV_UMAP_SPREAD, o->spread)) ||
      (st = ev_umap_set(u, EV_UMAP_METRIC, o->metric)) || (st = ev_umap_set(u, EV_UMAP_N_EPOCHS, o->epochs)) ||
      (st = ev_umap_set(u, EV_UMAP_LEARNING_RATE, o->lr)) || (st = ev_umap_set(u, EV_UMAP_INIT, o->init)) ||
      (st = ev_umap_set(u, EV_UMAP_NEGATIVE_SAMPLE_RATE, o->neg)) ||
      (st = ev_umap_set(u, EV_UMAP_RANDOM_STATE, o->seed)) || (st = ev_umap_set(u, EV_UMAP_THREADS, o->threads)) ||
      (st = ev_umap_set(u, EV_UMAP_KNN_METHOD, o->knn)))
    return st;
  return ev_umap_set_progress(u, evc_progress, "umap");
}

/* Place the rows of o->tin in the map and write them to o->tout. */
static int transform(const ev_umap *u, const umap_opts *o) {
  evc_mat t = {0}, tm = {0};
  ev_status st;
  int rc = 0;
  if (evc_read_any(o->tin, 0, &t)) return 1;
  if (evc_mat_alloc_f(&tm, t.rows, (size_t)o->dims)) rc = 1;
  else if ((st = ev_umap_transform(u, t.f, t.rows, t.cols, t.cols, tm.f, (size_t)o->dims)))
    rc = evc_lib_err("placing the --transform rows", st);
  else if (evc_write_any(o->tout, &tm, 0, NULL)) rc = 1;
  evc_progress_done();
  evc_mat_free(&t);
  evc_mat_free(&tm);
  return rc;
}

int evc_cmd_umap(int argc, char **argv) {
  umap_opts o;
  int rc = umap_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  evc_mat x = {0}, reduced = {0}, map = {0};
  double t0 = evc_now(), used = 0;
  if (EVC_OUTS_CHECK(o.out, o.tout)) return 1;
  if (evc_read_any(o.in, 0, &x)) return 1;
  const evc_mat *in = &x;
  if (o.pca > 0 && (size_t)o.pca < x.cols) {
    if (evc_pca_run(&x, (size_t)o.pca, (long)o.seed, (long)o.threads, &reduced, NULL, NULL)) {
      evc_mat_free(&x);
      return 1;
    }
    in = &reduced;
  }
  ev_umap *u = NULL;
  ev_status st;
  if ((st = ev_umap_create(&u)) || (st = configure(u, &o))) rc = evc_lib_err("setting up UMAP", st);
  else if ((st = ev_umap_fit(u, in->f, in->rows, in->cols, in->cols))) rc = evc_lib_err("UMAP", st);
  else if (evc_mat_alloc_f(&map, in->rows, (size_t)o.dims)) rc = 1;
  else if ((st = ev_umap_embedding(u, map.f, (size_t)o.dims))) rc = evc_lib_err("reading the UMAP map", st);
  evc_progress_done();
  if (!rc && evc_write_any(o.out, &map, 0, NULL)) rc = 1;
  if (!rc && o.tin) rc = transform(u, &o);
  double comps = 1, spread = 0;
  if (!rc && !ev_umap_info(u, EV_UMAP_INFO_INIT_USED, &used) && o.init == EV_UMAP_INIT_SPECTRAL &&
      used != EV_UMAP_INIT_SPECTRAL)
    evc_info("umap: the spectral start failed (the eigensolver did not converge): random start used");
  else if (!rc && o.init == EV_UMAP_INIT_SPECTRAL &&
           !ev_umap_info(u, EV_UMAP_INFO_N_COMPONENTS_GRAPH, &comps) && comps > 1 &&
           !ev_umap_info(u, EV_UMAP_INFO_N_RANDOM_COMPONENTS, &spread))
    evc_info("umap: the neighbour graph has %.0f separate components: each laid out on its own "
             "(%.0f too small for a spectral layout, spread at random)", comps, spread);
  if (!rc) evc_info("umap: %zu x %zu -> %d-D map in %.2f s", in->rows, in->cols, (int)o.dims, evc_now() - t0);
  ev_umap_free(u);
  evc_mat_free(&x);
  evc_mat_free(&reduced);
  evc_mat_free(&map);
  return rc;
}
