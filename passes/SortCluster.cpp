//===- SortCluster.cpp - quamba-sort-cluster -------------------------------===//
//
// Quamba2's sort-and-cluster of the SSM input x (reference/quamba2.md §4):
// per layer, heads are clustered (Ward) within each SSD group, channels are
// sorted within each head and split into contiguous dim groups (ordered
// KMeans); the weights are permuted offline (§4.3) and the group ranges and
// min-max scales (§4.4) are recorded as `mamba.x_groups`.
//
//===----------------------------------------------------------------------===//
#include "passes/SortCluster.h"
#include "passes/Passes.h"
#include "passes/WeightRewrite.h"

#include "dialect/Mamba/IR/MambaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBASORTCLUSTER
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;

//===----------------------------------------------------------------------===//
// Clustering kernels
//===----------------------------------------------------------------------===//

static double squaredDistance(const std::vector<double> &a,
                              const std::vector<double> &b) {
  double d = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

std::vector<int64_t>
mlir::quamba::wardClusters(const std::vector<std::vector<double>> &points,
                           int64_t clusters) {
  const int64_t n = static_cast<int64_t>(points.size());
  clusters = std::max<int64_t>(1, std::min(clusters, n));
  // d(i, j) = ||x_i - x_j||^2; Lance–Williams keeps d = 2 * Ward's increase
  // of the within-cluster sum of squares, so the merge order is Ward's.
  std::vector<std::vector<double>> d(n, std::vector<double>(n, 0.0));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      d[i][j] = squaredDistance(points[i], points[j]);
  std::vector<double> size(n, 1.0);
  std::vector<bool> active(n, true);
  std::vector<int64_t> root(n);
  std::iota(root.begin(), root.end(), 0);
  for (int64_t live = n; live > clusters; --live) {
    int64_t bi = -1, bj = -1;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i) {
      if (!active[i])
        continue;
      for (int64_t j = i + 1; j < n; ++j)
        if (active[j] && d[i][j] < best) {
          best = d[i][j];
          bi = i;
          bj = j;
        }
    }
    for (int64_t m = 0; m < n; ++m) {
      if (!active[m] || m == bi || m == bj)
        continue;
      double sm = size[m];
      double v = ((size[bi] + sm) * d[bi][m] + (size[bj] + sm) * d[bj][m] -
                  sm * d[bi][bj]) /
                 (size[bi] + size[bj] + sm);
      d[bi][m] = d[m][bi] = v;
    }
    size[bi] += size[bj];
    active[bj] = false;
    for (int64_t &r : root)
      if (r == bj)
        r = bi;
  }
  // Number the clusters by first appearance.
  std::vector<int64_t> labels(n), id(n, -1);
  int64_t next = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (id[root[i]] < 0)
      id[root[i]] = next++;
    labels[i] = id[root[i]];
  }
  return labels;
}

std::vector<int64_t>
mlir::quamba::orderedKMeans(const std::vector<std::vector<double>> &rows,
                            int64_t k) {
  const int64_t n = static_cast<int64_t>(rows.size());
  k = std::max<int64_t>(1, std::min(k, n));
  std::vector<std::vector<double>> centroids;
  for (int64_t c = 0; c < k; ++c)
    centroids.push_back(rows[c * n / k]);
  std::vector<int64_t> labels, ends;
  const double inf = std::numeric_limits<double>::infinity();
  for (int iter = 0; iter < 100; ++iter) {
    // dp[c][p]: least cost of rows 0..p with row p in segment c, segments
    // 0..c non-empty. Ties keep row p in the same segment as row p-1.
    std::vector<std::vector<double>> dp(k, std::vector<double>(n, inf));
    std::vector<std::vector<bool>> stay(k, std::vector<bool>(n, false));
    for (int64_t p = 0; p < n; ++p)
      for (int64_t c = 0; c < k && c <= p; ++c) {
        double cost = squaredDistance(rows[p], centroids[c]);
        if (p == 0) {
          dp[c][p] = cost; // c == 0
          continue;
        }
        double same = dp[c][p - 1];
        double prev = c > 0 ? dp[c - 1][p - 1] : inf;
        stay[c][p] = same <= prev;
        dp[c][p] = cost + std::min(same, prev);
      }
    std::vector<int64_t> next(n);
    for (int64_t p = n - 1, c = k - 1; p >= 0; --p) {
      next[p] = c;
      if (p > 0 && !stay[c][p])
        --c;
    }
    if (next == labels)
      break;
    labels = std::move(next);
    for (int64_t c = 0; c < k; ++c) {
      std::vector<double> mean(rows[0].size(), 0.0);
      int64_t count = 0;
      for (int64_t p = 0; p < n; ++p)
        if (labels[p] == c) {
          for (size_t i = 0; i < mean.size(); ++i)
            mean[i] += rows[p][i];
          ++count;
        }
      for (double &v : mean)
        v /= static_cast<double>(count); // count >= 1 by construction
      centroids[c] = std::move(mean);
    }
  }
  ends.assign(k, 0);
  for (int64_t p = 0; p < n; ++p)
    ends[labels[p]] = p + 1;
  return ends;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {

constexpr StringLiteral kXGroupsAttrName = "mamba.x_groups";

/// The ops and weights of one Mamba2 mixer around its scan (or step).
struct Mixer {
  Operation *scan = nullptr;
  mamba::LinearOp inProj, outProj;
  Operation *conv = nullptr;
  mamba::GatedRMSNormOp norm;
  DenseResourceElementsAttr inW, inB, convW, convB, aLog, d, dtBias, normW, outW;
};

template <typename ScanOp>
LogicalResult matchMixer(ScanOp scan, Mixer &mixer) {
  mixer.scan = scan;
  auto fail = [&](const Twine &what) {
    return scan.emitOpError("quamba-sort-cluster: ") << what;
  };
  auto split2 = scan.getX().template getDefiningOp<mamba::SplitOp>();
  if (!split2 || split2.getSizes().size() != 3 ||
      split2.getResult(0) != scan.getX())
    return fail("x is not piece 0 of a mamba.split [E, GN, GN]");
  Value convY = split2.getInput(), convX;
  if (auto conv = convY.getDefiningOp<mamba::CausalConv1dOp>()) {
    mixer.conv = conv;
    convX = conv.getX();
    mixer.convW = getResourceWeight(conv.getWeight());
    if (conv.getBias())
      if (!(mixer.convB = getResourceWeight(conv.getBias())))
        return fail("conv bias is not a dense_resource constant");
  } else if (auto step = convY.getDefiningOp<mamba::CausalConv1dStepOp>()) {
    mixer.conv = step;
    convX = step.getX();
    mixer.convW = getResourceWeight(step.getWeight());
    if (step.getBias())
      if (!(mixer.convB = getResourceWeight(step.getBias())))
        return fail("conv bias is not a dense_resource constant");
  } else {
    return fail("x does not come from a mamba.causal_conv1d");
  }
  auto split1 = convX.getDefiningOp<mamba::SplitOp>();
  if (!split1 || split1.getSizes().size() != 3 ||
      split1.getResult(1) != convX || split1.getResult(2) != scan.getDt())
    return fail("conv input and dt are not pieces 1 and 2 of in_proj's split");
  mixer.inProj = split1.getInput().template getDefiningOp<mamba::LinearOp>();
  if (!mixer.inProj)
    return fail("in_proj is not a mamba.linear");
  mixer.inW = getResourceWeight(mixer.inProj.getWeight());
  if (mixer.inProj.getBias())
    if (!(mixer.inB = getResourceWeight(mixer.inProj.getBias())))
      return fail("in_proj bias is not a dense_resource constant");
  Value y = scan.getY();
  if (!y.hasOneUse() || !isa<mamba::GatedRMSNormOp>(*y.getUsers().begin()))
    return fail("y is not read only by a mamba.gated_rms_norm");
  mixer.norm = cast<mamba::GatedRMSNormOp>(*y.getUsers().begin());
  if (mixer.norm.getY() != y || mixer.norm.getZ() != split1.getResult(0))
    return fail("the gated norm does not read y and in_proj's z");
  Value gated = mixer.norm.getOutput();
  if (!gated.hasOneUse() || !isa<mamba::LinearOp>(*gated.getUsers().begin()))
    return fail("the gated norm output is not read only by out_proj (run "
                "quamba-sort-cluster before quamba-rotate)");
  mixer.outProj = cast<mamba::LinearOp>(*gated.getUsers().begin());
  if (mixer.outProj.getInput() != gated)
    return fail("the gated norm output is not out_proj's input");
  mixer.outW = getResourceWeight(mixer.outProj.getWeight());
  mixer.aLog = getResourceWeight(scan.getALog());
  mixer.d = getResourceWeight(scan.getD());
  mixer.dtBias = getResourceWeight(scan.getDtBias());
  mixer.normW = getResourceWeight(mixer.norm.getWeight());
  if (!mixer.inW || !mixer.convW || !mixer.outW || !mixer.aLog || !mixer.d ||
      !mixer.dtBias || !mixer.normW)
    return fail("a weight is not a dense_resource constant");
  return success();
}

/// The clustering of one layer.
struct Clustering {
  std::vector<int64_t> piCh, piH;         // new index -> old index
  std::vector<int32_t> headEnd, dimEnd;   // [G, nHG], [G, nHG, nDG]
  std::vector<float> scales;              // [G, nHG, nDG]
  int64_t nHG = 0, nDG = 0;
};

Clustering cluster(ArrayRef<float> meanAbs, ArrayRef<float> absmax, int64_t G,
                   int64_t H, int64_t P, int64_t headGroups,
                   int64_t dimGroups) {
  Clustering c;
  const int64_t HG = H / G;
  c.nHG = std::min(headGroups, HG);
  c.nDG = std::min(dimGroups, P);
  c.piCh.resize(H * P);
  c.piH.resize(H);
  for (int64_t g = 0; g < G; ++g) {
    std::vector<std::vector<int64_t>> order(HG);
    std::vector<std::vector<double>> vecs(HG);
    for (int64_t j = 0; j < HG; ++j) {
      int64_t base = (g * HG + j) * P;
      std::vector<int64_t> &idx = order[j];
      idx.resize(P);
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
        return meanAbs[base + a] < meanAbs[base + b];
      });
      double norm = 0.0;
      for (int64_t p = 0; p < P; ++p) {
        double v = meanAbs[base + idx[p]];
        vecs[j].push_back(v);
        norm += v * v;
      }
      norm = std::sqrt(norm);
      if (norm > 0)
        for (double &v : vecs[j])
          v /= norm;
    }
    std::vector<int64_t> labels = wardClusters(vecs, c.nHG);
    std::vector<int64_t> newOrder; // new local head -> old local head
    for (int64_t k = 0; k < c.nHG; ++k) {
      std::vector<int64_t> members;
      for (int64_t j = 0; j < HG; ++j)
        if (labels[j] == k)
          members.push_back(j);
      newOrder.insert(newOrder.end(), members.begin(), members.end());
      c.headEnd.push_back(static_cast<int32_t>(newOrder.size()));
      // Dim groups on the clustered heads (the reference's quirk fixed).
      std::vector<std::vector<double>> rows(P);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t j : members)
          rows[p].push_back(vecs[j][p]);
      for (int64_t e : orderedKMeans(rows, c.nDG))
        c.dimEnd.push_back(static_cast<int32_t>(e));
    }
    for (int64_t nj = 0; nj < HG; ++nj) {
      int64_t oj = newOrder[nj];
      c.piH[g * HG + nj] = g * HG + oj;
      for (int64_t p = 0; p < P; ++p)
        c.piCh[(g * HG + nj) * P + p] = (g * HG + oj) * P + order[oj][p];
    }
  }
  // Min-max scales per (g, hg, dg) block of the permuted channel absmax.
  for (int64_t g = 0; g < G; ++g)
    for (int64_t k = 0; k < c.nHG; ++k) {
      int64_t h0 = k == 0 ? 0 : c.headEnd[g * c.nHG + k - 1];
      int64_t h1 = c.headEnd[g * c.nHG + k];
      for (int64_t dg = 0; dg < c.nDG; ++dg) {
        int64_t at = (g * c.nHG + k) * c.nDG + dg;
        int64_t p0 = dg == 0 ? 0 : c.dimEnd[at - 1], p1 = c.dimEnd[at];
        float peak = 0.0f;
        for (int64_t j = h0; j < h1; ++j)
          for (int64_t p = p0; p < p1; ++p)
            peak = std::max(peak, absmax[c.piCh[(g * HG + j) * P + p]]);
        c.scales.push_back(peak / 127.0f);
      }
    }
  return c;
}

std::vector<float> readFloats(DenseElementsAttr attr) {
  std::vector<float> out;
  for (APFloat v : attr.getValues<APFloat>())
    out.push_back(v.convertToFloat());
  return out;
}

/// The calibration dictionary with `x`'s channel arrays permuted by π_ch and
/// `state`'s [H, P, N] channel absmax permuted by (head, channel).
DictionaryAttr permuteCalibration(DictionaryAttr dict, ArrayRef<int64_t> piCh) {
  Builder b(dict.getContext());
  SmallVector<NamedAttribute> entries;
  for (NamedAttribute entry : dict) {
    auto fields = dyn_cast<DictionaryAttr>(entry.getValue());
    StringRef name = entry.getName().getValue();
    if (!fields || (name != "x" && name != "state")) {
      entries.push_back(entry);
      continue;
    }
    SmallVector<NamedAttribute> newFields;
    for (NamedAttribute field : fields) {
      auto values = dyn_cast<DenseElementsAttr>(field.getValue());
      if (!values || values.getNumElements() % piCh.size() != 0) {
        newFields.push_back(field);
        continue;
      }
      std::vector<float> old = readFloats(values), now(old.size());
      size_t inner = old.size() / piCh.size();
      for (size_t i = 0; i < piCh.size(); ++i)
        for (size_t n = 0; n < inner; ++n)
          now[i * inner + n] = old[piCh[i] * inner + n];
      newFields.push_back(b.getNamedAttr(
          field.getName(),
          DenseElementsAttr::get(values.getType(), ArrayRef<float>(now))));
    }
    entries.push_back(b.getNamedAttr(entry.getName(),
                                     b.getDictionaryAttr(newFields)));
  }
  return b.getDictionaryAttr(entries);
}

struct SortClusterPass
    : quamba::impl::QuambaSortClusterBase<SortClusterPass> {
  using Base::Base;
  void runOnOperation() override;
};

void SortClusterPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (headGroups < 1 || dimGroups < 1) {
    module.emitError("quamba-sort-cluster: head-groups and dim-groups must be "
                     ">= 1");
    return signalPassFailure();
  }
  SmallVector<mamba::SSDScanOp> scans;
  SmallVector<mamba::SSDStepOp> steps;
  if (auto prefill = module.lookupSymbol<func::FuncOp>("prefill"))
    prefill.walk([&](mamba::SSDScanOp op) { scans.push_back(op); });
  if (auto decode = module.lookupSymbol<func::FuncOp>("decode"))
    decode.walk([&](mamba::SSDStepOp op) { steps.push_back(op); });
  if (scans.empty()) {
    // Mamba1 passes through unchanged (see Passes.td), so that one pipeline
    // serves both architectures.
    bool isMamba1 = false;
    if (auto prefill = module.lookupSymbol<func::FuncOp>("prefill"))
      prefill.walk([&](mamba::SelectiveScanOp) { isMamba1 = true; });
    if (isMamba1)
      return;
    module.emitError("quamba-sort-cluster: @prefill has no mamba.ssd_scan "
                     "or mamba.selective_scan (not a Mamba model)");
    return signalPassFailure();
  }
  if (!steps.empty() && steps.size() != scans.size()) {
    module.emitError("quamba-sort-cluster: @decode has ")
        << steps.size() << " mamba.ssd_step ops but @prefill has "
        << scans.size() << " mamba.ssd_scan ops";
    return signalPassFailure();
  }
  MLIRContext *ctx = module.getContext();
  Builder b(ctx);
  llvm::StringMap<DenseResourceElementsAttr> replacements;
  for (size_t layer = 0; layer < scans.size(); ++layer) {
    mamba::SSDScanOp scan = scans[layer];
    auto calib = scan->getAttrOfType<DictionaryAttr>(
        mamba::MambaDialect::getCalibrationAttrName());
    auto x = calib ? calib.getAs<DictionaryAttr>("x") : DictionaryAttr();
    auto meanAttr =
        x ? x.getAs<DenseElementsAttr>("channel_mean_abs") : DenseElementsAttr();
    auto maxAttr =
        x ? x.getAs<DenseElementsAttr>("channel_absmax") : DenseElementsAttr();
    if (!meanAttr || !maxAttr) {
      scan.emitOpError("has no 'mamba.calibration' x statistics "
                       "(channel_mean_abs, channel_absmax): run "
                       "quamba-calibrate first");
      return signalPassFailure();
    }
    Mixer mixer;
    if (failed(matchMixer(scan, mixer)))
      return signalPassFailure();
    const int64_t P = scan.getHeaddim(), G = scan.getNgroups();
    const int64_t E = cast<ShapedType>(scan.getX().getType()).getShape().back();
    const int64_t H = E / P;
    const int64_t GN = cast<ShapedType>(scan.getB().getType()).getShape().back();
    if (E % P != 0 || H % G != 0 ||
        meanAttr.getNumElements() != E || maxAttr.getNumElements() != E) {
      scan.emitOpError("quamba-sort-cluster: inconsistent sizes (E = ")
          << E << ", headdim " << P << ", ngroups " << G << ")";
      return signalPassFailure();
    }
    SmallVector<Mixer, 2> mixers = {mixer};
    if (!steps.empty()) {
      // @decode normally reads the same resources; if it reads copies of
      // its own, those are permuted the same way.
      Mixer stepMixer;
      if (failed(matchMixer(steps[layer], stepMixer)))
        return signalPassFailure();
      mixers.push_back(stepMixer);
    }
    Clustering c = cluster(readFloats(meanAttr), readFloats(maxAttr), G, H, P,
                           headGroups, dimGroups);

    // §4.3: permute the weights, each into a new resource.
    llvm::StringSet<> layerKeys;
    auto rewrite = [&](DenseResourceElementsAttr w, auto &&permute) -> bool {
      if (!w)
        return true;
      StringRef key = w.getRawHandle().getKey();
      if (layerKeys.contains(key))
        return true; // the same resource, read by @prefill and @decode
      if (replacements.count(key)) {
        scan.emitOpError("quamba-sort-cluster: weight '")
            << key << "' is shared between layers";
        return false;
      }
      layerKeys.insert(key);
      FailureOr<std::vector<double>> old = readWeight(w, scan);
      if (failed(old))
        return false;
      std::vector<double> now(old->size());
      if (!permute(*old, now)) {
        scan.emitOpError("quamba-sort-cluster: unexpected shape of weight '")
            << key << "'";
        return false;
      }
      replacements[key] = createWeight(w.getType(), key, now);
      return true;
    };
    // Row permutation: row i of the result is row rowPerm[i].
    auto rows = [](ArrayRef<int64_t> rowPerm) {
      return [rowPerm = std::vector<int64_t>(rowPerm.begin(), rowPerm.end())](
                 const std::vector<double> &old, std::vector<double> &now) {
        if (old.size() % rowPerm.size() != 0)
          return false;
        size_t width = old.size() / rowPerm.size();
        for (size_t i = 0; i < rowPerm.size(); ++i)
          std::copy_n(old.begin() + rowPerm[i] * width, width,
                      now.begin() + i * width);
        return true;
      };
    };
    const int64_t inRows =
        cast<ShapedType>(mixer.inProj.getResult().getType()).getShape().back();
    if (inRows != 2 * E + 2 * GN + H) {
      scan.emitOpError("quamba-sort-cluster: in_proj has ")
          << inRows << " rows; expected 2E + 2GN + H = " << 2 * E + 2 * GN + H;
      return signalPassFailure();
    }
    std::vector<int64_t> inPerm(inRows), convPerm(E + 2 * GN);
    std::iota(inPerm.begin(), inPerm.end(), 0);
    std::iota(convPerm.begin(), convPerm.end(), 0);
    for (int64_t i = 0; i < E; ++i) {
      inPerm[i] = c.piCh[i];
      inPerm[E + i] = E + c.piCh[i];
      convPerm[i] = c.piCh[i];
    }
    for (int64_t h = 0; h < H; ++h)
      inPerm[2 * E + 2 * GN + h] = 2 * E + 2 * GN + c.piH[h];
    auto columns = [&](const std::vector<double> &old, std::vector<double> &now) {
      if (old.size() % E != 0)
        return false;
      size_t height = old.size() / E;
      for (size_t r = 0; r < height; ++r)
        for (int64_t i = 0; i < E; ++i)
          now[r * E + i] = old[r * E + c.piCh[i]];
      return true;
    };
    for (const Mixer &m : mixers) {
      int64_t dSize = m.d.getType().getNumElements();
      if (!rewrite(m.inW, rows(inPerm)) || !rewrite(m.inB, rows(inPerm)) ||
          !rewrite(m.convW, rows(convPerm)) ||
          !rewrite(m.convB, rows(convPerm)) ||
          !rewrite(m.aLog, rows(c.piH)) ||
          !rewrite(m.d, rows(dSize == E ? c.piCh : c.piH)) ||
          !rewrite(m.dtBias, rows(c.piH)) || !rewrite(m.normW, rows(c.piCh)) ||
          !rewrite(m.outW, columns))
        return signalPassFailure();
    }

    // §4.4: the group ranges and scales.
    auto i32 = b.getI32Type();
    auto f32 = b.getF32Type();
    DictionaryAttr groups = b.getDictionaryAttr({
        b.getNamedAttr("head_group_end",
                       DenseElementsAttr::get(
                           RankedTensorType::get({G, c.nHG}, i32),
                           ArrayRef<int32_t>(c.headEnd))),
        b.getNamedAttr("dim_group_end",
                       DenseElementsAttr::get(
                           RankedTensorType::get({G, c.nHG, c.nDG}, i32),
                           ArrayRef<int32_t>(c.dimEnd))),
        b.getNamedAttr("scales",
                       DenseElementsAttr::get(
                           RankedTensorType::get({G, c.nHG, c.nDG}, f32),
                           ArrayRef<float>(c.scales))),
    });
    SmallVector<Operation *> ops = {scan};
    if (!steps.empty())
      ops.push_back(steps[layer]);
    for (Operation *op : ops) {
      op->setAttr(kXGroupsAttrName, groups);
      if (auto dict = op->getAttrOfType<DictionaryAttr>(
              mamba::MambaDialect::getCalibrationAttrName()))
        op->setAttr(mamba::MambaDialect::getCalibrationAttrName(),
                    permuteCalibration(dict, c.piCh));
    }
  }
  redirectConstants(module, replacements);
}

} // namespace
