/* cmd_pca.c - embedviz pca: principal components of a matrix. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char PCA_HELP[] =
    "Usage: embedviz pca -i X.npy -o SCORES.npy [options]\n"
    "Principal component analysis of the rows of X (n x d).\n\n"
    "  -i, --input FILE        the matrix (.npy or .csv)\n"
    "  -o, --output FILE       scores, n x k (.npy or .csv)\n"
    "  -k, --components K      components to keep (default: min(n, d))\n"
    "      --variance F        keep the fewest components explaining F of the variance (0 < F <= 1)\n"
    "      --whiten            scale the scores to unit variance\n"
    "      --no-center         do not subtract the mean\n"
    "      --solver S          auto (default), covariance, svd or randomized\n"
    "      --seed N            seed of the randomized solver (default 0)\n"
    "      --save-components F k x d components\n"
    "      --save-variance F   explained variance ratio of each component (k)\n"
    "      --save-mean F       the mean row (d)\n"
    "  -t, --threads N         threads (default: all cores)\n"
    "  -q, --quiet             no progress\n"
    "  -h, --help              this help\n";

typedef struct pca_opts {
  const char *in, *out, *comp, *var, *mean;
  double k, variance, whiten, center, solver, seed, threads;
} pca_opts;

static int parse_solver(const char *s, double *out) {
  const char *names[] = {"auto", "covariance", "svd", "randomized"};
  for (int k = 0; k < 4; k++)
    if (!strcmp(s, names[k])) { *out = k; return 0; }
  return evc_err("--solver must be auto, covariance, svd or randomized, got '%s'", s);
}

static int pca_parse(int argc, char **argv, pca_opts *o) {
  static const struct option lo[] = {
      {"input", 1, 0, 'i'}, {"output", 1, 0, 'o'}, {"components", 1, 0, 'k'}, {"variance", 1, 0, 'v'},
      {"whiten", 0, 0, 'w'}, {"no-center", 0, 0, 'C'}, {"solver", 1, 0, 's'}, {"seed", 1, 0, 'S'},
      {"save-components", 1, 0, 'P'}, {"save-variance", 1, 0, 'R'}, {"save-mean", 1, 0, 'M'},
      {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  long v;
  int c;
  *o = (pca_opts){.center = 1};
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:o:k:t:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'i': o->in = optarg; break;
    case 'o': o->out = optarg; break;
    case 'k': if (evc_parse_long("--components", optarg, 1, 1 << 30, &v)) return 2; o->k = (double)v; break;
    case 'v': if (evc_parse_double("--variance", optarg, 1e-9, 1, &o->variance)) return 2; break;
    case 'w': o->whiten = 1; break;
    case 'C': o->center = 0; break;
    case 's': if (parse_solver(optarg, &o->solver)) return 2; break;
    case 'S': if (evc_parse_long("--seed", optarg, 0, 2147483647L, &v)) return 2; o->seed = (double)v; break;
    case 'P': o->comp = optarg; break;
    case 'R': o->var = optarg; break;
    case 'M': o->mean = optarg; break;
    case 't': if (evc_parse_long("--threads", optarg, 0, 1024, &v)) return 2; o->threads = (double)v; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(PCA_HELP, stdout); return -1;
    default: fputs("Try 'embedviz pca --help'.\n", stderr); return 2;
    }
  }
  if (!o->in || !o->out) return evc_err("pca needs --input and --output (see embedviz pca --help)") + 1;
  if (optind < argc) return evc_err("pca: unexpected argument '%s'", argv[optind]) + 1;
  return 0;
}

/* Configure a handle from the options; the library checks the ranges. */
static ev_status pca_configure(ev_pca *p, const pca_opts *o) {
  const struct { int param; double value; } set[] = {
      {EV_PCA_N_COMPONENTS, o->k}, {EV_PCA_VARIANCE_TO_KEEP, o->variance}, {EV_PCA_WHITEN, o->whiten},
      {EV_PCA_CENTER, o->center}, {EV_PCA_SOLVER, o->solver}, {EV_PCA_SEED, o->seed},
      {EV_PCA_THREADS, o->threads}};
  for (size_t k = 0; k < sizeof set / sizeof set[0]; k++) {
    ev_status st = ev_pca_set(p, set[k].param, set[k].value);
    if (st) return st;
  }
  return ev_pca_set_progress(p, evc_progress, "pca");
}

static int save_extras(const ev_pca *p, const pca_opts *o, size_t k, size_t d) {
  evc_mat m = {0};
  int rc = 0;
  if (o->comp && !(rc = evc_mat_alloc_f(&m, k, d) ? 1 : 0)) {
    ev_status st = ev_pca_components(p, m.f, d);
    rc = st ? evc_lib_err("reading the components", st) : evc_write_any(o->comp, &m, 0, NULL) ? 1 : 0;
    evc_mat_free(&m);
  }
  if (!rc && o->var && !(rc = evc_mat_alloc_f(&m, k, 1) ? 1 : 0)) {
    ev_status st = ev_pca_explained_variance_ratio(p, m.f);
    rc = st ? evc_lib_err("reading the explained variance", st) : evc_write_any(o->var, &m, 1, "ratio") ? 1 : 0;
    evc_mat_free(&m);
  }
  if (!rc && o->mean && !(rc = evc_mat_alloc_f(&m, d, 1) ? 1 : 0)) {
    ev_status st = ev_pca_mean(p, m.f);
    rc = st ? evc_lib_err("reading the mean", st) : evc_write_any(o->mean, &m, 1, "mean") ? 1 : 0;
    evc_mat_free(&m);
  }
  return rc;
}

int evc_cmd_pca(int argc, char **argv) {
  pca_opts o;
  int rc = pca_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  evc_mat x = {0}, s = {0};
  ev_pca *p = NULL;
  size_t k = 0;
  ev_status st;
  double t0 = evc_now();
  if (EVC_OUTS_CHECK(o.out, o.comp, o.var, o.mean)) return 1;   /* before the work, not after */
  if (evc_read_any(o.in, 0, &x)) return 1;
  if ((st = ev_pca_create(&p)) || (st = pca_configure(p, &o))) rc = evc_lib_err("setting up PCA", st);
  else if ((st = ev_pca_fit(p, x.f, x.rows, x.cols, x.cols))) rc = evc_lib_err("PCA fit", st);
  else if ((st = ev_pca_n_components(p, &k))) rc = evc_lib_err("PCA", st);
  else if (evc_mat_alloc_f(&s, x.rows, k)) rc = 1;
  else if ((st = ev_pca_transform(p, x.f, x.rows, x.cols, x.cols, s.f, k))) rc = evc_lib_err("PCA transform", st);
  else if (evc_write_any(o.out, &s, 0, NULL)) rc = 1;
  else rc = save_extras(p, &o, k, x.cols);
  evc_progress_done();
  if (!rc) evc_info("pca: %zu x %zu -> %zu components in %.2f s", x.rows, x.cols, k, evc_now() - t0);
  ev_pca_free(p);
  evc_mat_free(&x);
  evc_mat_free(&s);
  return rc;
}
