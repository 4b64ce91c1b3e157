//===- SortCluster.h - clustering kernels of quamba-sort-cluster -*- C++ -*-===//
//
// The deterministic clustering steps of quamba-sort-cluster
// (reference/quamba2.md §4.2), exposed for unit tests.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace mlir::quamba {

/// Ward agglomerative clustering (Euclidean) of `points` into
/// `min(clusters, n)` clusters, by the Lance–Williams update on squared
/// distances. Ties: the pair (i, j), i < j, with the lowest i, then lowest j,
/// merges first. Labels are numbered by first appearance (point 0 has label 0).
std::vector<int64_t> wardClusters(const std::vector<std::vector<double>> &points,
                                  int64_t clusters);

/// KMeans of the rows of `rows` (in order) into `min(k, rows)` contiguous,
/// non-empty ranges; returns the exclusive end of each range. Initial
/// centroids are rows 0, n/k, 2n/k, ...; Lloyd iterations (at most 100, until
/// the assignment no longer changes) whose assignment step is the optimal
/// contiguous, non-empty segmentation for the current centroids (dynamic
/// programming), so the result is contiguous by construction.
std::vector<int64_t> orderedKMeans(const std::vector<std::vector<double>> &rows,
                                   int64_t k);

} // namespace mlir::quamba
