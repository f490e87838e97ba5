/* cmd_issues.c - embedviz issues: rows whose labels are probably wrong. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int evc_cmd_issues(int argc, char **argv);

static const char HELP[] =
    "Usage: embedviz issues -l LABELS.npy (-s PROBS.npy | -f FEATURES.npy | both) -o TABLE.csv [options]\n"
    "Rows whose given label is probably wrong, most likely first (docs/quality.md):\n"
    "the model's class probabilities, the k nearest rows in feature space, or both.\n"
    "Columns: rank, row, given label, suggested label, score (1 - P(given); with both,\n"
    "1 - sqrt(p(given) x (neighbours with it + 1) / (k + classes)): higher = more\n"
    "likely mislabelled), self_confidence, margin, neighbor_disagreement, flagged\n"
    "(confident learning's filter).\n\n"
    "  -l, --labels FILE     given labels (n integers in [0, classes))\n"
    "  -s, --scores FILE     n x c class probabilities (or logits with --logits)\n"
    "  -f, --features FILE   n x d features (e.g. the penultimate layer)\n"
    "  -o, --output FILE     the table (.csv with a header, or .npy as float32)\n"
    "      --logits          the scores are logits: softmax is applied first\n"
    "  -c, --classes N       number of classes (default: c, or the largest label + 1)\n"
    "  -k, --neighbors K     feature neighbours (default 10)\n"
    "  -n, --top N           only the first N rows of the ranking\n"
    "  -a, --all             rank every row, not only those confident learning flags\n"
    "  -t, --threads N       threads (default: all cores)\n"
    "  -q, --quiet           no summary line\n"
    "  -h, --help            this help\n";

typedef struct issue_opts {
  const char *labels, *scores, *features, *out;
  int logits, all;
  long classes, k, top, threads;
} issue_opts;

static int parse(int argc, char **argv, issue_opts *o) {
  static const struct option lo[] = {
      {"labels", 1, 0, 'l'}, {"scores", 1, 0, 's'},    {"features", 1, 0, 'f'},
      {"output", 1, 0, 'o'}, {"logits", 0, 0, 'L'},    {"classes", 1, 0, 'c'},
      {"neighbors", 1, 0, 'k'}, {"top", 1, 0, 'n'},    {"all", 0, 0, 'a'},
      {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'},    {"help", 0, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "l:s:f:o:c:k:n:at:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'l': o->labels = optarg; break;
    case 's': o->scores = optarg; break;
    case 'f': o->features = optarg; break;
    case 'o': o->out = optarg; break;
    case 'L': o->logits = 1; break;
    case 'a': o->all = 1; break;
    case 'c': if (evc_parse_long("--classes", optarg, 2, 1L << 30, &o->classes)) return 2; break;
    case 'k': if (evc_parse_long("--neighbors", optarg, 1, 1000000, &o->k)) return 2; break;
    case 'n': if (evc_parse_long("--top", optarg, 1, 1L << 40, &o->top)) return 2; break;
    case 't': if (evc_parse_long("--threads", optarg, 0, 1024, &o->threads)) return 2; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(HELP, stdout); return -1;
    default: fputs("Try 'embedviz issues --help'.\n", stderr); return 2;
    }
  }
  if (!o->labels || !o->out || (!o->scores && !o->features)) {
    evc_err("issues needs --labels, --output and --scores or --features (see embedviz issues --help)");
    return 2;
  }
  return 0;
}

/* Labels as int32 class indices; n_classes from the options, the scores'
 * columns or the largest label. Out-of-range labels go to the library,
 * which names the first. */
static int to_classes(const evc_mat *y, const evc_mat *s, long classes, int32_t **out, size_t *nc) {
  size_t n = y->rows * y->cols;
  int64_t top = -1;
  int32_t *lab = malloc(n * sizeof *lab);
  if (!lab) return evc_err("out of memory");
  for (size_t i = 0; i < n; i++) {
    lab[i] = y->i[i] < INT32_MIN || y->i[i] > INT32_MAX ? -1 : (int32_t)y->i[i];
    if (y->i[i] > top) top = y->i[i];
  }
  *nc = classes ? (size_t)classes : s ? s->cols : (size_t)(top + 1 < 2 ? 2 : top + 1);
  *out = lab;
  return 0;
}

static int write_table(const issue_opts *o, const float *ev, const int32_t *lab, const int32_t *sug,
                       const int64_t *order, size_t rows) {
  evc_mat t = {0};
  if (evc_mat_alloc_f(&t, rows, 9)) return 1;
  for (size_t r = 0; r < rows; r++) {
    size_t i = (size_t)order[r];
    const float *e = ev + i * EV_ISSUE_FIELDS;
    float *row = t.f + r * 9;
    row[0] = (float)(r + 1); row[1] = (float)i; row[2] = (float)lab[i]; row[3] = (float)sug[i];
    row[4] = e[EV_ISSUE_SCORE]; row[5] = e[EV_ISSUE_SELF_CONFIDENCE]; row[6] = e[EV_ISSUE_MARGIN];
    row[7] = e[EV_ISSUE_NEIGHBOR_DISAGREEMENT]; row[8] = e[EV_ISSUE_FLAGGED];
  }
  int rc = evc_write_any(o->out, &t, 0,
                         "rank,row,given,suggested,score,self_confidence,margin,neighbor_disagreement,flagged");
  evc_mat_free(&t);
  return rc;
}

static int run(const issue_opts *o, const evc_mat *y, const evc_mat *s, const evc_mat *f) {
  size_t n = y->rows * y->cols, nc = 0, count = 0;
  int32_t *lab = NULL;
  if (to_classes(y, s, o->classes, &lab, &nc)) return 1;
  float *ev = malloc(n * EV_ISSUE_FIELDS * sizeof *ev);
  int32_t *sug = malloc(n * sizeof *sug);
  int64_t *order = malloc(n * sizeof *order);
  ev_quality *q = NULL;
  ev_status st;
  int rc = 0;
  if (!ev || !sug || !order) rc = evc_err("out of memory");
  else if ((st = ev_quality_create(&q)) ||
           (st = ev_quality_set(q, EV_QUALITY_SCORES, o->logits ? EV_SCORE_LOGITS : EV_SCORE_PROBABILITIES)) ||
           (o->k && (st = ev_quality_set(q, EV_QUALITY_ISSUE_NEIGHBORS, (double)o->k))) ||
           (st = ev_quality_set(q, EV_QUALITY_THREADS, (double)o->threads)))
    rc = evc_lib_err("setting up", st);
  else if ((st = ev_quality_label_issues(q, lab, n, nc, s ? s->f : NULL, s ? s->cols : 0, f ? f->f : NULL,
                                         f ? f->cols : 0, f ? f->cols : 0, ev, EV_ISSUE_FIELDS, sug)))
    rc = evc_lib_err("scoring the labels", st);
  else if ((st = ev_quality_rank_issues(ev, n, EV_ISSUE_FIELDS, !o->all, order, &count)))
    rc = evc_lib_err("ranking the rows", st);
  size_t rows = o->top && (size_t)o->top < count ? (size_t)o->top : count;
  if (!rc) rc = write_table(o, ev, lab, sug, order, rows);
  if (!rc) evc_info("issues: %zu of %zu rows %s, %zu written to %s", count, n,
                    o->all ? "ranked" : "flagged", rows, o->out);
  ev_quality_free(q);
  free(lab); free(ev); free(sug); free(order);
  return rc;
}

int evc_cmd_issues(int argc, char **argv) {
  issue_opts o = {0};
  int p = parse(argc, argv, &o);
  if (p) return p < 0 ? 0 : p;
  evc_mat y = {0}, s = {0}, f = {0};
  int rc = 0;
  if (evc_read_any(o.labels, 1, &y) || (o.scores && evc_read_any(o.scores, 0, &s)) ||
      (o.features && evc_read_any(o.features, 0, &f)))
    rc = 1;
  else if (o.scores && s.rows != y.rows * y.cols)
    rc = evc_err("%s has %zu rows for %zu labels in %s", o.scores, s.rows, y.rows * y.cols, o.labels);
  else if (o.features && f.rows != y.rows * y.cols)
    rc = evc_err("%s has %zu rows for %zu labels in %s", o.features, f.rows, y.rows * y.cols, o.labels);
  else
    rc = run(&o, &y, o.scores ? &s : NULL, o.features ? &f : NULL);
  evc_mat_free(&y); evc_mat_free(&s); evc_mat_free(&f);
  return rc;
}
