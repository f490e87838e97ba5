/* cmd_score.c - embedviz ambiguity and embedviz confusion. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char AMB_HELP[] =
    "Usage: embedviz ambiguity -i PROBS.npy -o TABLE.csv [options]\n"
    "How sure a network is of each prediction. One row per input row:\n"
    "row, ambiguity (second-largest probability / largest: 0 = certain, 1 = a tie),\n"
    "margin, entropy, likeliest class, second class [, true class].\n\n"
    "  -i, --input FILE    n x c class probabilities (or logits with --logits)\n"
    "  -o, --output FILE   the table (.csv with a header, or .npy as float32)\n"
    "      --logits        the input holds logits: softmax is applied first\n"
    "  -l, --labels FILE   true classes (n integers), added as a last column\n"
    "  -n, --top N         only the N most ambiguous rows, most ambiguous first\n"
    "  -q, --quiet         no timing line\n"
    "  -h, --help          this help\n";

static const char CONF_HELP[] =
    "Usage: embedviz confusion -l TRUE.npy (-p PRED.npy | -s PROBS.npy) -o MATRIX.csv [options]\n"
    "Confusion matrix (rows: true class, columns: predicted class) and per-class accuracy.\n\n"
    "  -l, --labels FILE     true classes (n integers)\n"
    "  -p, --predicted FILE  predicted classes (n integers)\n"
    "  -s, --scores FILE     or n x c probabilities/logits: the likeliest class is the prediction\n"
    "  -c, --classes N       number of classes (default: the largest label + 1, or c)\n"
    "  -o, --output FILE     c x c counts (.csv or .npy, int64)\n"
    "  -a, --accuracy FILE   per-class accuracy (c floats)\n"
    "  -q, --quiet           no summary line\n"
    "  -h, --help            this help\n";

/* The table's rows in the requested order (all, or the top-N ambiguous). */
static int amb_table(const evc_mat *p, int logits, const evc_mat *labels, long top, evc_mat *table) {
  size_t n = p->rows, rows = top ? (size_t)top : n, cols = labels ? 7 : 6;
  float *amb = malloc(n * sizeof *amb), *mar = malloc(n * sizeof *mar), *ent = malloc(n * sizeof *ent);
  int32_t *t1 = malloc(n * sizeof *t1), *t2 = malloc(n * sizeof *t2);
  int64_t *order = malloc(rows * sizeof *order);
  ev_status st;
  int rc = 0;
  if (!amb || !mar || !ent || !t1 || !t2 || !order) rc = evc_err("out of memory");
  else if ((st = ev_ambiguity(p->f, n, p->cols, p->cols, logits ? EV_SCORE_LOGITS : EV_SCORE_PROBABILITIES, amb,
                              mar, ent, t1, t2)))
    rc = evc_lib_err("scoring the predictions", st);
  else if (top && (st = ev_most_ambiguous(amb, n, rows, order)))
    rc = evc_lib_err("ranking the ambiguity", st);
  else if (evc_mat_alloc_f(table, rows, cols))
    rc = 1;
  for (size_t r = 0; !rc && r < rows; r++) {
    size_t i = top ? (size_t)order[r] : r;
    float *row = table->f + r * cols;
    row[0] = (float)i; row[1] = amb[i]; row[2] = mar[i]; row[3] = ent[i];
    row[4] = (float)t1[i]; row[5] = (float)t2[i];
    if (labels) row[6] = (float)labels->i[i];
  }
  free(amb); free(mar); free(ent); free(t1); free(t2); free(order);
  return rc;
}

int evc_cmd_ambiguity(int argc, char **argv) {
  static const struct option lo[] = {{"input", 1, 0, 'i'}, {"output", 1, 0, 'o'}, {"logits", 0, 0, 'L'},
                                     {"labels", 1, 0, 'l'}, {"top", 1, 0, 'n'},  {"quiet", 0, 0, 'q'},
                                     {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  const char *in = NULL, *out = NULL, *lab = NULL;
  long top = 0;
  int logits = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:o:l:n:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'i': in = optarg; break;
    case 'o': out = optarg; break;
    case 'L': logits = 1; break;
    case 'l': lab = optarg; break;
    case 'n': if (evc_parse_long("--top", optarg, 1, 1L << 40, &top)) return 2; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(AMB_HELP, stdout); return 0;
    default: fputs("Try 'embedviz ambiguity --help'.\n", stderr); return 2;
    }
  }
  if (!in || !out) return evc_err("ambiguity needs --input and --output (see embedviz ambiguity --help)") + 1;
  evc_mat p = {0}, y = {0}, table = {0};
  int rc = 0;
  if (EVC_OUTS_CHECK(out)) return 1;
  if (evc_read_any(in, 0, &p) || (lab && evc_read_any(lab, 1, &y))) rc = 1;
  else if (lab && y.rows * y.cols != p.rows) rc = evc_err("%s has %zu labels for %zu rows of scores", lab, y.rows * y.cols, p.rows);
  else if (top && (size_t)top > p.rows) rc = evc_err("--top %ld is more than the %zu rows", top, p.rows);
  else if (amb_table(&p, logits, lab ? &y : NULL, top, &table)) rc = 1;
  else if (evc_write_any(out, &table, 0, lab ? "row,ambiguity,margin,entropy,top1,top2,label"
                                              : "row,ambiguity,margin,entropy,top1,top2"))
    rc = 1;
  if (!rc) evc_info("ambiguity: %zu rows scored", table.rows);
  evc_mat_free(&p); evc_mat_free(&y); evc_mat_free(&table);
  return rc;
}

/* Predicted classes from scores: the argmax of each row. */
static int argmax_rows(const evc_mat *s, evc_mat *pred) {
  if (evc_mat_alloc_i(pred, s->rows, 1)) return 1;
  for (size_t r = 0; r < s->rows; r++) {
    size_t best = 0;
    for (size_t c = 1; c < s->cols; c++) if (s->f[r * s->cols + c] > s->f[r * s->cols + best]) best = c;
    pred->i[r] = (int64_t)best;
  }
  return 0;
}

static int conf_run(const evc_mat *y, const evc_mat *pred, long classes, const char *out, const char *acc) {
  size_t n = y->rows * y->cols, c = (size_t)classes;
  int32_t *yt = malloc(n * sizeof *yt), *yp = malloc(n * sizeof *yp);
  evc_mat counts = {0}, a = {0};
  ev_status st;
  int rc = 0;
  for (size_t k = 0; yt && yp && k < n; k++) {
    yt[k] = y->i[k] < 0 || y->i[k] > INT32_MAX ? -1 : (int32_t)y->i[k];
    yp[k] = pred->i[k] < 0 || pred->i[k] > INT32_MAX ? -1 : (int32_t)pred->i[k];
  }
  if (!yt || !yp) rc = evc_err("out of memory");
  else if (evc_mat_alloc_i(&counts, c, c) || evc_mat_alloc_f(&a, c, 1)) rc = 1;
  else if ((st = ev_confusion_matrix(yt, yp, n, c, counts.i, a.f))) rc = evc_lib_err("the confusion matrix", st);
  else if (evc_write_any(out, &counts, 0, NULL) || (acc && evc_write_any(acc, &a, 1, "accuracy"))) rc = 1;
  if (!rc) {
    int64_t right = 0;
    for (size_t k = 0; k < c; k++) right += counts.i[k * c + k];
    evc_info("confusion: %zu samples, accuracy %.4f", n, (double)right / (double)n);
  }
  free(yt); free(yp); evc_mat_free(&counts); evc_mat_free(&a);
  return rc;
}

int evc_cmd_confusion(int argc, char **argv) {
  static const struct option lo[] = {{"labels", 1, 0, 'l'}, {"predicted", 1, 0, 'p'}, {"scores", 1, 0, 's'},
                                     {"classes", 1, 0, 'c'}, {"output", 1, 0, 'o'},   {"accuracy", 1, 0, 'a'},
                                     {"quiet", 0, 0, 'q'},   {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
  const char *lab = NULL, *pr = NULL, *sc = NULL, *out = NULL, *acc = NULL;
  long classes = 0;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "l:p:s:c:o:a:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'l': lab = optarg; break;
    case 'p': pr = optarg; break;
    case 's': sc = optarg; break;
    case 'c': if (evc_parse_long("--classes", optarg, 1, 1 << 20, &classes)) return 2; break;
    case 'o': out = optarg; break;
    case 'a': acc = optarg; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(CONF_HELP, stdout); return 0;
    default: fputs("Try 'embedviz confusion --help'.\n", stderr); return 2;
    }
  }
  if (!lab || !out || (!pr == !sc))
    return evc_err("confusion needs --labels, --output and one of --predicted or --scores") + 1;
  evc_mat y = {0}, p = {0}, s = {0};
  int rc = 0;
  if (EVC_OUTS_CHECK(out, acc)) return 1;
  if (evc_read_any(lab, 1, &y) || (pr ? evc_read_any(pr, 1, &p) : (evc_read_any(sc, 0, &s) || argmax_rows(&s, &p))))
    rc = 1;
  else if (p.rows * p.cols != y.rows * y.cols)
    rc = evc_err("%zu true labels but %zu predictions", y.rows * y.cols, p.rows * p.cols);
  if (!rc && !classes) {
    int64_t mx = 0;
    for (size_t k = 0; k < y.rows * y.cols; k++) mx = y.i[k] > mx ? y.i[k] : mx;
    for (size_t k = 0; k < p.rows * p.cols; k++) mx = p.i[k] > mx ? p.i[k] : mx;
    classes = sc && (long)s.cols > mx + 1 ? (long)s.cols : (long)mx + 1;
  }
  if (!rc) rc = conf_run(&y, &p, classes, out, acc);
  evc_mat_free(&y); evc_mat_free(&p); evc_mat_free(&s);
  return rc;
}
