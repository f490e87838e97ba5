/* Private parts of UMAP: the fuzzy graph, the curve, the spectral start and
 * the SGD layout. Shared by lib/umap and the tests; nothing is exported. */
#ifndef EV_LIB_UMAP_INTERNAL_H
#define EV_LIB_UMAP_INTERNAL_H

#include "core/core.h"
#include "embedviz/umap.h"
#include "linalg/linalg.h"

#define EV__UMAP_MAX_DIMS 100

/* The settings: X(id, lower, upper, whole number, default). */
#define EV__UMAP_SETTINGS(X)                                   \
  X(EV_UMAP_N_NEIGHBORS, 2, 1000, true, 15)                    \
  X(EV_UMAP_N_COMPONENTS, 1, EV__UMAP_MAX_DIMS, true, 2)       \
  X(EV_UMAP_MIN_DIST, 0, 100, false, 0.1)                      \
  X(EV_UMAP_SPREAD, 1e-3, 100, false, 1.0)                     \
  X(EV_UMAP_METRIC, 0, 5, true, EV_METRIC_EUCLIDEAN)           \
  X(EV_UMAP_N_EPOCHS, 0, 1e7, true, 0)                         \
  X(EV_UMAP_LEARNING_RATE, 1e-6, 1e3, false, 1.0)              \
  X(EV_UMAP_INIT, 0, 2, true, EV_UMAP_INIT_SPECTRAL)           \
  X(EV_UMAP_NEGATIVE_SAMPLE_RATE, 0, 1000, true, 5)            \
  X(EV_UMAP_REPULSION_STRENGTH, 0, 1e3, false, 1.0)            \
  X(EV_UMAP_SET_OP_MIX_RATIO, 0, 1, false, 1.0)                \
  X(EV_UMAP_LOCAL_CONNECTIVITY, 0, 1000, false, 1.0)           \
  X(EV_UMAP_RANDOM_STATE, 0, 9007199254740992.0, true, 0)      \
  X(EV_UMAP_THREADS, 0, 4096, true, 0)                         \
  X(EV_UMAP_MINKOWSKI_P, 1, 1e6, false, 2)                     \
  X(EV_UMAP_A, 0, 1e6, false, 0)                               \
  X(EV_UMAP_B, 0, 100, false, 0)                               \
  X(EV_UMAP_KNN_METHOD, 0, 2, true, EV_KNN_METHOD_AUTO)
enum { EV__UMAP_N_PARAMS = EV__COUNT(EV__UMAP_SETTINGS) + 1 };

/* A sparse matrix in CSR form with double weights. */
typedef struct ev__umap_graph {
  size_t n, cols;
  size_t *row_ptr; /* n + 1 */
  uint32_t *col;   /* row_ptr[n] */
  double *val;     /* row_ptr[n] */
} ev__umap_graph;

void ev__umap_graph_free(ev__umap_graph *g);

struct ev_umap {
  double param[EV__UMAP_N_PARAMS];
  ev_progress_fn progress;
  void *progress_user;
  float *given;
  size_t given_n, given_dims;
  /* the last result */
  int fitted;
  size_t n, d, k, dims, epochs_run, n_edges, n_graph_components;
  size_t n_random_components; /* components spread at random at the start */
  int init_used;
  double a, b;
  float *y;            /* n x dims */
  ev__umap_graph graph; /* symmetric fuzzy set */
  ev_knn *index;       /* the training rows (NULL after ev_umap_fit_knn) */
};

/* ---- the fuzzy simplicial set (graph.c) ---- */

/* umap-learn's smooth_knn_dist for n rows of k distances (n x k, column 0
 * normally the row itself at 0, skipped in the sum): rho[i], sigma[i]. */
void ev__umap_smooth_knn_dist(const float *dist, size_t n, size_t k,
                              double local_connectivity, double *sigma,
                              double *rho);

/* Membership strengths of the n x k lists (entries equal to the row when
 * skip_self, or negative, get 0) as a CSR matrix of n rows and `cols`
 * columns, zeros dropped, columns sorted, repeats kept largest. */
ev_status ev__umap_membership(const int64_t *idx, const float *dist, size_t n,
                              size_t k, size_t cols, const double *sigma,
                              const double *rho, int skip_self,
                              ev__umap_graph *out);

/* mix (A + A^T - A o A^T) + (1 - mix) A o A^T of a square A. */
ev_status ev__umap_fuzzy_union(const ev__umap_graph *a, double mix,
                               ev__umap_graph *out);

/* Connected components of a symmetric graph: labels[i] and the count;
 * labels and stack hold n entries each. */
size_t ev__umap_components(const ev__umap_graph *g, uint32_t *labels,
                           uint32_t *stack);

/* The kNN index method a fit of n x d rows uses (EV_UMAP_KNN_METHOD, AUTO
 * resolved by the exact search's work n^2 d; fit.c). */
double ev__umap_knn_method(const ev_umap *u, size_t n, size_t d);

/* ---- the curve (curve.c) ---- */
ev_status ev__umap_find_ab(double spread, double min_dist, double *a,
                           double *b);

/* ---- spectral start (spectral.c) ---- */

/* dims columns of the normalised Laplacian's smallest non-trivial
 * eigenvectors into y (n x dims, row-major); EV_ERR_UNSUPPORTED when the
 * eigensolver fails (the caller falls back to random). */
ev_status ev__umap_spectral(const ev__umap_graph *g, size_t dims,
                            uint64_t seed, double *y, ev_progress_fn cb,
                            void *user);

/* The input rows of a fit, for the component places (NULL x: a fit from
 * neighbour lists). */
typedef struct ev__umap_rows {
  const float *x;
  size_t d, ld;
  int metric;
  double p;
} ev__umap_rows;

/* Places of k components made by the caller (places.c): meta (k x dims),
 * range[c] the half-width of component c around its place; components of
 * fewer than min_spectral rows are spread at random there. */
typedef struct ev__umap_places {
  const double *meta, *range;
  size_t min_spectral;
} ev__umap_places;

/* The start of a graph of k > 1 components (labels[i] in [0, k)), as
 * umap-learn's multi_component_layout (spectral.c explains it), finished
 * as ev__umap_spectral (largest |coordinate| 10, noise 1e-4); given places
 * instead of umap-learn's when given is not NULL. *n_random: the
 * components spread at random (too small, or the eigensolver failed).
 * EV_ERR_CANCELLED, EV_ERR_NOMEM, EV_ERR_OVERFLOW. */
ev_status ev__umap_spectral_components(const ev__umap_graph *g,
                                       const uint32_t *labels, size_t k,
                                       const ev__umap_rows *rows, size_t dims,
                                       uint64_t seed, double *y,
                                       ev_progress_fn cb, void *user,
                                       size_t *n_random,
                                       const ev__umap_places *given);

/* The mean row of each of the k components (k x rows->d floats, *out
 * allocated). */
ev_status ev__umap_centroids(const ev__umap_rows *rows, const uint32_t *labels,
                            size_t n, size_t k, float **out);

/* The start of a graph of many components (more than the dense places of
 * umap-learn's layout allow; places.c): places from a UMAP map of the
 * components' centroids. EV_ERR_UNSUPPORTED when that map fails (the
 * caller takes the random start). */
ev_status ev__umap_many_components(const ev_umap *u, const ev__umap_graph *g,
                                   const uint32_t *labels, size_t k,
                                   const ev__umap_rows *rows, size_t dims,
                                   uint64_t seed, double *y,
                                   size_t *n_random);

/* ---- SGD (layout.c) ---- */

typedef struct ev__umap_sgd {
  double a, b, gamma, alpha, negative_rate;
  size_t n_epochs, dims;
  uint64_t seed;
  int move_other;    /* fit: attraction moves both ends (umap-learn's
                        move_other), applied as twice the head's step */
} ev__umap_sgd;

/* Optimise head (rows of g, dims each) against tail (g->cols rows); with
 * tail == NULL the head is its own tail (a fit). Edges of g with weight
 * below max / n_epochs must have been dropped already. *epochs gets the
 * epochs run (also after a cancel). */
ev_status ev__umap_optimize(const ev__umap_graph *g, float *head,
                            const float *tail, const ev__umap_sgd *o,
                            ev_progress_fn cb, void *user, size_t *epochs);

/* The SGD's d^b for eight x > 0 (exp2(b log2 x) from float polynomials;
 * for the tests). */
void ev__umap_pow8(const float *x, float b, float *out);

/* Drop entries below max / n_epochs (umap-learn's pruning), in place. */
void ev__umap_prune(ev__umap_graph *g, size_t n_epochs);

#endif
