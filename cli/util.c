/*
 * util.c - messages, strict number parsing, progress on standard error and
 * the clock.
 */
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int evc_quiet = 0;

int evc_err(const char *fmt, ...) {
  evc_progress_done();
  va_list ap;
  va_start(ap, fmt);
  fputs("embedviz: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

/* The library's messages name its C settings; the tool's user typed
 * options, so say those. */
static const char *const CLI_NAMES[][2] = {
    {"EV_TSNE_PERPLEXITY", "--perplexity"}, {"EV_TSNE_THETA", "--theta"}, {"EV_TSNE_N_COMPONENTS", "--dims"},
    {"EV_TSNE_METHOD", "--method"}, {"EV_TSNE_METRIC", "--metric"}, {"EV_TSNE_N_ITER", "--iterations"},
    {"EV_TSNE_LEARNING_RATE", "--learning-rate"}, {"EV_TSNE_EARLY_EXAGGERATION", "--early-exaggeration"},
    {"EV_TSNE_EXAGGERATION_ITERATIONS", "--exaggeration-iterations"}, {"EV_TSNE_INIT", "--init"},
    {"EV_TSNE_SEED", "--seed"}, {"EV_TSNE_THREADS", "--threads"}, {"EV_PCA_N_COMPONENTS", "--components"},
    {"EV_PCA_VARIANCE_TO_KEEP", "--variance"}, {"EV_PCA_SOLVER", "--solver"}, {"EV_PCA_SEED", "--seed"},
    {"EV_PCA_THREADS", "--threads"}, {"EV_PCA_WHITEN", "--whiten"}, {"EV_KNN_METRIC", "--metric"},
    {"EV_KNN_THREADS", "--threads"}, {"EV_EXTRACT_BATCH_SIZE", "--batch"}, {"EV_EXTRACT_THREADS", "--threads"}};

static void cli_words(const char *msg, char *out, size_t len) {
  size_t o = 0;
  while (*msg && o + 1 < len) {
    const char *repl = NULL;
    size_t skip = 0;
    if (!strncmp(msg, "EV_", 3)) {
      size_t n = strspn(msg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
      for (size_t k = 0; k < sizeof CLI_NAMES / sizeof *CLI_NAMES; k++)
        if (strlen(CLI_NAMES[k][0]) == n && !strncmp(msg, CLI_NAMES[k][0], n)) repl = CLI_NAMES[k][1], skip = n;
    }
    if (repl) {
      o += (size_t)snprintf(out + o, len - o, "%s", repl);
      if (o >= len) o = len - 1;
      msg += skip;
    } else {
      out[o++] = *msg++;
    }
  }
  out[o] = 0;
}

int evc_lib_err(const char *doing, ev_status st) {
  const char *msg = ev_last_error();
  char words[2048];
  cli_words(msg && *msg ? msg : "no message", words, sizeof words);
  return evc_err("%s failed: %s (%s)", doing, words, ev_status_name(st));
}

void evc_info(const char *fmt, ...) {
  if (evc_quiet) return;
  evc_progress_done();
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int evc_parse_long(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end || errno)
    return evc_err("%s needs a whole number, got '%s'", opt, s ? s : "");
  if (v < lo || v > hi) return evc_err("%s must be in [%ld, %ld], got %ld", opt, lo, hi, v);
  *out = v;
  return 0;
}

int evc_parse_double(const char *opt, const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = s ? strtod(s, &end) : 0;
  if (!s || !*s || *end || errno || !isfinite(v))
    return evc_err("%s needs a number, got '%s'", opt, s ? s : "");
  if (v < lo || v > hi) return evc_err("%s must be in [%g, %g], got %g", opt, lo, hi, v);
  *out = v;
  return 0;
}

double evc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- progress ---------------------------------------------------------- */

static int bar_open = 0;       /* a \r-bar line is on the terminal */
static int last_stage = -1;
static int last_decile = -1;
static double last_draw = 0;

static const char *stage_name(int stage) {
  switch (stage) {
  case EV_STAGE_KNN: return "neighbours";
  case EV_STAGE_PCA: return "PCA";
  case EV_STAGE_AFFINITIES: return "affinities";
  case EV_STAGE_EXAGGERATION: return "t-SNE exaggeration";
  case EV_STAGE_OPTIMIZE: return "t-SNE";
  case EV_STAGE_EXTRACT: return "extraction";
  case EV_STAGE_READ: return "reading";
  case EV_STAGE_SPECTRAL: return "UMAP spectral start";
  case EV_STAGE_EPOCHS: return "UMAP epochs";
  default: return "working";
  }
}

void evc_progress_done(void) {
  if (bar_open) fputc('\n', stderr);
  bar_open = 0;
}

static void draw_bar(const char *label, const char *what, size_t step, size_t total, double value) {
  double frac = total ? (double)step / (double)total : 0;
  int width = 30, fill = (int)(frac * width + 0.5);
  char bar[64];
  for (int k = 0; k < width; k++) bar[k] = k < fill ? '#' : '.';
  bar[width] = 0;
  fprintf(stderr, "\r%s%s%-20s [%s] %3d%% %zu/%zu", label ? label : "", label ? ": " : "", what, bar,
          (int)(frac * 100 + 0.5), step, total);
  if (!isnan(value)) fprintf(stderr, "  KL %.4f", value);
  fputs("\033[K", stderr);
  fflush(stderr);
  bar_open = 1;
}

volatile sig_atomic_t evc_interrupted = 0;

int evc_progress(void *user_data, int stage, size_t step, size_t total, double value) {
  if (evc_interrupted) return 1;   /* Ctrl-C: the library call stops, cancelled */
  if (evc_quiet) return 0;
  const char *label = user_data, *what = stage_name(stage);
  if (stage != last_stage) { evc_progress_done(); last_stage = stage; last_decile = -1; last_draw = 0; }
  if (isatty(2)) {
    double now = evc_now();
    if (now - last_draw > 0.1 || step == total) { draw_bar(label, what, step, total, value); last_draw = now; }
    return 0;
  }
  int decile = total ? (int)(10 * step / total) : 0;   /* plain lines: every 10% */
  if (decile != last_decile) {
    last_decile = decile;
    fprintf(stderr, "%s%s%s %zu/%zu", label ? label : "", label ? ": " : "", what, step, total);
    if (!isnan(value)) fprintf(stderr, " KL %.4f", value);
    fputc('\n', stderr);
  }
  return 0;
}

/* "a,b,c" into three numbers. */
int evc_parse_three(const char *opt, const char *s, double lo, double hi, double out[3]) {
  char buf[256], *save = NULL, *t;
  snprintf(buf, sizeof buf, "%s", s);
  int k = 0;
  for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (k == 3) return evc_err("%s needs three numbers separated by commas (one per channel), got '%s'", opt, s);
    if (evc_parse_double(opt, t, lo, hi, &out[k++])) return 1;
  }
  if (k == 1) out[1] = out[2] = out[0];   /* one number: every channel (grey models) */
  else if (k != 3) return evc_err("%s needs three numbers separated by commas (one per channel), got '%s'", opt, s);
  return 0;
}

/* ---- class names ------------------------------------------------------- */

const char *const evc_fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

int evc_read_class_names(const char *path, char ***names) {
  FILE *f = fopen(path, "r");
  if (!f) return evc_err("%s: %s", path, strerror(errno)), -1;
  char line[256];
  int n = 0, cap = 16;
  char **v = malloc((size_t)cap * sizeof *v);
  while (v && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!*line) continue;
    if (n == cap) { char **nv = realloc(v, (size_t)(cap *= 2) * sizeof *v); if (!nv) break; v = nv; }
    v[n++] = strdup(line);
  }
  fclose(f);
  if (n == 0) { free(v); return evc_err("%s: no class names (one a line)", path), -1; }
  *names = v;
  return n;
}

int evc_unavailable(int argc, char **argv, const char *command, const char *capability) {
  int help = 0;
  for (int k = 1; k < argc; k++) help |= !strcmp(argv[k], "--help") || !strcmp(argv[k], "-h");
  /* the library's reason: not built with it, module not installed,
   * another version... (ev_extract_available() recorded it) */
  if (help) {
    printf("Usage: embedviz %s [options]\n%s is not available here: %s\n", command, capability, ev_last_error());
    return 0;
  }
  return evc_err("%s is not available: %s", command, ev_last_error());
}
