/* Private to lib/knn: the index, the per-query selection state and the
 * blocked search engine. */
#ifndef EV_LIB_KNN_PRIVATE_H
#define EV_LIB_KNN_PRIVATE_H

#include <float.h>
#include <math.h>
#include <pthread.h>

#include "core/core.h"
#include "embedviz/knn.h"
#include "knn/knn_internal.h"

struct ev_knn {
  int metric;            /* ev_metric, as set */
  double p;              /* Minkowski exponent */
  int threads;           /* EV_KNN_THREADS */
  int block_rows;        /* EV_KNN_BLOCK_ROWS, 0 = automatic */
  ev_progress_fn progress;
  void *progress_user;
  /* The built reference; ref == NULL before a build. */
  float *ref;            /* n x dim, packed (ld = dim), 64-byte aligned */
  size_t n, dim;
  int built_metric;      /* the metric the reference was built for */
  double built_p;
  float *colv;           /* per reference row, the scan's column term:
                            |y|^2 (Euclidean) or 1/|y| (cosine), else NULL */
  double *norm;          /* |y| per reference row, in double */
  double max_sqnorm;     /* largest |y|^2, for the rounding bound */
  double min_norm;       /* smallest non-zero |y| (cosine's underflow guard) */
  /* The approximate method (knn_approx.c, nndescent.c). */
  int method;            /* EV_KNN_METHOD, as set */
  size_t auto_rows;      /* EV_KNN_AUTO_ROWS */
  uint64_t seed;         /* EV_KNN_SEED */
  int degree;            /* EV_KNN_GRAPH_DEGREE */
  int n_iters;           /* EV_KNN_N_ITERS, 0 = automatic */
  double delta;          /* EV_KNN_DELTA */
  int max_candidates;    /* EV_KNN_MAX_CANDIDATES, 0 = automatic */
  int search_ef;         /* EV_KNN_SEARCH_EF, 0 = automatic */
  int built_method;      /* EV_KNN_METHOD_EXACT or _APPROXIMATE once built */
  int built_auto_method; /* method, auto_rows and degree at the build */
  size_t built_auto_rows;
  int built_degree;
  /* The search graph of an approximate build, made by the first query by
   * new rows (a self query does not need it) under graph_lock; NULL
   * until then. */
  struct ev__knn_graph *graph;
  pthread_mutex_t graph_lock;
};

/* How a query is ranked: the kernel family the engine runs. */
enum ev__knn_kind {
  EV__KNN_L2,     /* squared Euclidean via SGEMM + exact re-rank */
  EV__KNN_COS,    /* cosine via SGEMM + exact re-rank */
  EV__KNN_L1,     /* direct loops from here on */
  EV__KNN_LP,
  EV__KNN_LINF,
  EV__KNN_L2_DIRECT,
  EV__KNN_COS_DIRECT
};

/* One search job: nq query rows against the whole reference. */
typedef struct ev__knn_job {
  const ev_knn *index;
  const float *q;     /* queries, leading dimension ldq (the reference when
                         self is set) */
  size_t nq, ldq;
  int self;           /* queries are reference rows 0..nq-1: leave each out
                         of its own list, by index */
  size_t k;
  int kind;           /* an ev__knn_kind */
  const double *seed; /* NULL, or per query a proven upper bound on the
                         ranking form of its k-th nearest plus the rounding
                         bound: where its scan may start (knn_seed.c) */
} ev__knn_job;

/* C = alpha A B^T (m x n, row-major; A m x K, B n x K): the exact
 * search's tiles. An AVX-512 kernel on CPUs that have it when the BLAS
 * does not use it (knn_gemm.c; K up to EV__KNN_GEMM_KMAX), else SGEMM. */
#define EV__KNN_GEMM_KMAX 128
void ev__knn_gemm_nt(size_t m, size_t n, size_t K, float alpha,
                     const float *A, size_t lda, const float *B, size_t ldb,
                     float *C, size_t ldc);
/* Whether ev__knn_gemm_nt takes its own kernel for rows of K columns. */
int ev__knn_own_gemm_applies(size_t K);

/* Whether the exact search seeds its thresholds (knn_seed.c): self
 * queries, Euclidean, n of at least 16 groups of max(1024, 4 (k + 1)). */
int ev__knn_seed_applies(const ev__knn_job *job);
/* The seeds of such a job (n doubles, ev__free them), or NULL when memory
 * is short (the search then runs without: the same lists, slower). */
double *ev__knn_seed(const ev__knn_job *job);

/* Sort a query's heap nearest first and write it as one output row: the
 * indices, and (distances != NULL) the reported distances. */
void ev__knn_write_row(const ev_knn *ix, ev__topk *h, int64_t *indices,
                       float *distances);

/* Run the search and write the k nearest per query, sorted. */
ev_status ev__knn_search(const ev__knn_job *job, int64_t *indices, size_t ldi,
                         float *distances, size_t ldd);

/* The smallest float >= v (the scans' thresholds). */
static inline float ev__knn_float_up(double v) {
  if (v >= (double)FLT_MAX) return INFINITY;
  float f = (float)v;
  return (double)f < v ? nextafterf(f, INFINITY) : f;
}

/* The proven bound on |float expansion - exact distance| of a scan of the
 * given kind (EV__KNN_COS or L2) for a query of norm qn against the index
 * (knn_scan.c explains it): what the k-nearest and radius scans add to
 * their thresholds. The last term covers underflow: each float operation
 * may lose up to 2^-149 in absolute terms. */
static inline double ev__knn_scan_bound(int kind, size_t dim, double qn,
                                        double max_sqnorm) {
  const double eps_u = 1.0 / 16777216.0, safety = 1.5;
  double dd = (double)dim, gamma = dd * eps_u / (1 - dd * eps_u);
  return kind == EV__KNN_COS
             ? safety * (gamma + 8 * eps_u)
             : safety * ((gamma + 3 * eps_u) * (qn * qn + max_sqnorm) +
                         (dd + 8) * 1e-44);
}

/* Every reference row within radius (ranking form: squared for the
 * Euclidean kinds) of each query, exact: offsets (nq + 1), rows and, unless
 * distances is NULL, reported distances as new 1-d arrays; each query's rows
 * by index, or by (distance, index) with sort. */
ev_status ev__knn_radius(const ev__knn_job *job, double radius, int sort,
                         ev_array **offsets, ev_array **rows,
                         ev_array **distances);

/* Exact distance in double between a query row and a reference row, in the
 * ranking form (squared for Euclidean, else the distance itself). */
double ev__knn_exact(int kind, double p, const float *x, const float *y,
                     size_t dim, double xnorm, double ynorm);
/* The direct-loop kernel family of a metric (EV__KNN_L2_DIRECT,
 * EV__KNN_COS_DIRECT, EV__KNN_L1, EV__KNN_LINF or EV__KNN_LP). */
int ev__knn_direct_kind(int metric, double p);
/* The ranking form to the reported distance. */
float ev__knn_report(int metric, double p, double ranked);
/* |x| in double. */
double ev__knn_norm(const float *x, size_t dim);


#endif
