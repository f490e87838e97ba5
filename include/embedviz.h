/*
 * embedviz.h - libembedviz, the whole public API.
 *
 * libembedviz shows what a neural network has learned: it extracts the
 * activations of any layer and turns them into maps and figures (PCA,
 * t-SNE, nearest neighbours, ambiguity of predictions).
 *
 * Read the headers in this order, from the simplest calls to the advanced:
 *   embedviz/core.h     version, status codes and messages, threads, progress
 *   embedviz/score.h    ambiguity of predictions, confusion matrices
 *   embedviz/knn.h      exact k-nearest-neighbour index
 *   embedviz/pca.h      principal component analysis
 *   embedviz/tsne.h     t-SNE maps (exact and Barnes-Hut)
 *   embedviz/quality.h  trust in a map, likely label errors (since 1.1)
 *   embedviz/explain.h  PCA contributions, ridge to a map, feature
 *                       correlation (since 1.1)
 *   embedviz/io.h       .npy, IDX and image data sets
 *   embedviz/extract.h  layer activations of TorchScript models (libtorch)
 *
 * Build against it with: cc app.c $(pkg-config --cflags --libs embedviz)
 */
#ifndef EMBEDVIZ_H
#define EMBEDVIZ_H

#include "embedviz/core.h"
#include "embedviz/score.h"
#include "embedviz/knn.h"
#include "embedviz/pca.h"
#include "embedviz/tsne.h"
#include "embedviz/umap.h"
#include "embedviz/quality.h"
#include "embedviz/explain.h"
#include "embedviz/io.h"
#include "embedviz/extract.h"

#endif
