/* Test-only allocation failure injection. Hidden symbols: reachable when a
 * test links libembedviz.a, never exported from the shared library. */
#ifndef EV_LIB_TESTHOOK_H
#define EV_LIB_TESTHOOK_H
#include <stddef.h>

/* From now on, the allocation number `n` (0-based, counted from this call)
 * fails, and so does every later one while `sticky` is non-zero.
 * n < 0 turns failure injection off. */
void ev__test_fail_alloc(long n, int sticky);
/* Allocations made since the last ev__test_fail_alloc call. */
long ev__test_alloc_count(void);
/* Blocks currently allocated through the library's allocator. */
long ev__test_live_blocks(void);
/* Bytes of per-thread rank counts lib/knn/knn_rank.c's symmetric pass may
 * use (default 256 MiB); 0 forces its row-wise pass. */
extern size_t ev__test_rank_count_budget;
/* Updates per thread's buffer in NN-descent's join (lib/knn/nndescent.c;
 * default 2^21, never below one row's pairs); lower makes it redo blocks,
 * which it counts in ev__test_nnd_redone_blocks (atomically). */
extern size_t ev__test_nnd_block_updates;
/* The share of a buffer NN-descent sizes the next block to fill (default
 * 0.5; above 1 makes most blocks overflow). */
extern double ev__test_nnd_block_fill;
extern size_t ev__test_nnd_redone_blocks;
/* Rows per group of the exact self search's seeds (lib/knn/knn_seed.c;
 * default 1024, 0 turns the seeds off) and the searches seeded so far. */
extern size_t ev__test_knn_seed_group;
extern size_t ev__test_knn_seeded;
/* Rows from which the approximate self query works on a copy of the rows
 * in one tree's leaf order (lib/knn/knn_approx.c; default 131072) and the
 * self queries that did so far (atomically). */
extern size_t ev__test_knn_reorder_rows;
extern size_t ev__test_knn_reordered;
/* The exact search's tiles (lib/knn/knn_gemm.c): -1 (default) its own
 * AVX-512 kernel where the CPU has AVX-512F and the BLAS does not use it,
 * 0 always the BLAS, 1 its own kernel wherever the CPU has AVX-512F. */
extern int ev__test_knn_own_gemm;
#endif
