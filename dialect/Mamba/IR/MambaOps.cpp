//===- MambaOps.cpp - mamba dialect operations ----------------------------===//
//
// Verifiers. Each op states its shape contract as named dimensions per
// operand ("B", "L", "E", ...); ShapeContract unifies them and reports the
// first contradiction with both sides named. Relations between dimensions
// (E = H * P, ...) are checked after the contract binds them.
//
//===----------------------------------------------------------------------===//
#include "dialect/Mamba/IR/MambaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

using namespace mlir;
using namespace mlir::mamba;

namespace {

/// Unifies named dimensions across an op's values. A name is bound by the
/// first static size seen for it; later static sizes must agree, and a
/// mismatch names both sides. The name "1" requires a static size of 1 (one
/// token per decode step); "_" accepts any size.
class ShapeContract {
public:
  explicit ShapeContract(Operation *op) : op(op) {}

  /// `value`, called `name` in messages, must have one dimension per entry
  /// of `dims`.
  LogicalResult match(StringRef name, Value value, ArrayRef<StringRef> dims) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != static_cast<int64_t>(dims.size()))
      return op->emitOpError()
             << "'" << name << "' must have rank " << dims.size() << " ["
             << llvm::join(dims, ", ") << "], got " << type;
    for (auto [index, dim] : llvm::enumerate(dims)) {
      int64_t size = type.getDimSize(index);
      if (ShapedType::isDynamic(size) || dim == "_")
        continue;
      if (dim == "1") {
        if (size != 1)
          return op->emitOpError()
                 << "'" << name << "' dimension " << index
                 << " must be 1 (one token per step), got " << size;
        continue;
      }
      std::string where =
          ("'" + name + "' dimension " + llvm::Twine(index)).str();
      std::string origin =
          ("'" + name + "' has " + dim + " = " + llvm::Twine(size)).str();
      if (failed(bind(dim, size, where, origin)))
        return failure();
    }
    return success();
  }

  /// Binds `dim` to `size`, or checks it against an earlier binding. `where`
  /// names what carries the size ("'x' dimension 2", "headdim"); `origin`
  /// says where the size came from, for later mismatches.
  LogicalResult bind(StringRef dim, int64_t size, StringRef where,
                     StringRef origin) {
    auto [it, inserted] = bound.try_emplace(dim, size, origin.str());
    if (inserted || it->second.first == size)
      return success();
    return op->emitOpError() << where << " (" << dim << ") is " << size
                             << ", but " << it->second.second;
  }

  /// The size bound to `dim`, if any static size was seen.
  std::optional<int64_t> lookup(StringRef dim) const {
    auto it = bound.find(dim);
    if (it == bound.end())
      return std::nullopt;
    return it->second.first;
  }

private:
  Operation *op;
  llvm::StringMap<std::pair<int64_t, std::string>> bound;
};

/// A double as a person writes it (1e-05, 0.5, nan), for messages.
std::string formatDouble(double value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

LogicalResult requirePositive(Operation *op, StringRef name, int64_t value) {
  if (value > 0)
    return success();
  return op->emitOpError() << name << " must be positive, got " << value;
}

/// eps of a norm: positive and finite (NaN fails every comparison, so the
/// test is written to reject it).
LogicalResult verifyEps(Operation *op, const APFloat &eps) {
  double value = eps.convertToDouble();
  if (value > 0.0 && std::isfinite(value))
    return success();
  return op->emitOpError() << "eps must be positive and finite, got "
                           << formatDouble(value);
}

/// Binds `quotientDim` = `wholeDim` / `part` after checking divisibility,
/// e.g. the state size N = (G * N) / ngroups.
LogicalResult bindQuotient(Operation *op, ShapeContract &contract,
                           StringRef wholeDim, StringRef wholeOwner,
                           int64_t part, StringRef partName,
                           StringRef quotientDim) {
  std::optional<int64_t> whole = contract.lookup(wholeDim);
  if (!whole)
    return success();
  if (*whole % part != 0)
    return op->emitOpError() << wholeOwner << " has " << *whole
                             << " channels, not divisible by " << partName
                             << " (" << part << ")";
  int64_t quotient = *whole / part;
  std::string origin = (wholeOwner + " has " + llvm::Twine(*whole) +
                        " channels and " + partName + " = " +
                        llvm::Twine(part) + ", so " + quotientDim + " = " +
                        llvm::Twine(quotient))
                           .str();
  return contract.bind(quotientDim, quotient, partName, origin);
}

} // namespace

//===----------------------------------------------------------------------===//
// Model wrapper
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  ShapeContract c(*this);
  return success(succeeded(c.match("table", getTable(), {"V", "D"})) &&
                 succeeded(c.match("tokens", getTokens(), {"B", "L"})) &&
                 succeeded(c.match("result", getResult(), {"B", "L", "D"})));
}

LogicalResult RMSNormOp::verify() {
  if (failed(verifyEps(*this, getEps())))
    return failure();
  if (static_cast<bool>(getResidual()) != static_cast<bool>(getResidualOut()))
    return emitOpError("has a residual operand but no residual result, or "
                       "the reverse; the fused form needs both");
  ShapeContract c(*this);
  if (failed(c.match("input", getInput(), {"B", "L", "D"})) ||
      failed(c.match("weight", getWeight(), {"D"})) ||
      failed(c.match("output", getOutput(), {"B", "L", "D"})))
    return failure();
  if (getResidual() &&
      (failed(c.match("residual", getResidual(), {"B", "L", "D"})) ||
       failed(c.match("residual_out", getResidualOut(), {"B", "L", "D"}))))
    return failure();
  return success();
}

LogicalResult LinearOp::verify() {
  ShapeContract c(*this);
  if (failed(c.match("input", getInput(), {"B", "L", "in_features"})) ||
      failed(c.match("weight", getWeight(), {"out_features", "in_features"})) ||
      failed(c.match("result", getResult(), {"B", "L", "out_features"})))
    return failure();
  if (getBias() && failed(c.match("bias", getBias(), {"out_features"})))
    return failure();
  return success();
}

LogicalResult SplitOp::verify() {
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.empty())
    return emitOpError("needs at least one size");
  if (sizes.size() != getResults().size())
    return emitOpError() << "has " << sizes.size() << " sizes but "
                         << getResults().size() << " results";
  auto inputType = cast<RankedTensorType>(getInput().getType());
  if (inputType.getRank() == 0)
    return emitOpError("'input' must have rank >= 1");
  int64_t total = 0;
  for (int64_t size : sizes) {
    if (size <= 0)
      return emitOpError() << "sizes must be positive, got " << size;
    total += size;
  }
  int64_t last = inputType.getRank() - 1;
  if (!inputType.isDynamicDim(last) && inputType.getDimSize(last) != total)
    return emitOpError() << "sizes add up to " << total
                         << " but the last dimension of 'input' is "
                         << inputType.getDimSize(last);
  for (auto [index, result, size] :
       llvm::enumerate(getResults(), sizes)) {
    SmallVector<int64_t> expected(inputType.getShape());
    expected[last] = size;
    auto type = cast<RankedTensorType>(result.getType());
    if (failed(verifyCompatibleShape(type.getShape(), expected)))
      return emitOpError() << "result " << index << " has shape "
                           << type << ", expected the input's shape with "
                           << size << " as the last dimension";
  }
  return success();
}

LogicalResult LMHeadOp::verify() {
  ShapeContract c(*this);
  return success(succeeded(c.match("input", getInput(), {"B", "L", "D"})) &&
                 succeeded(c.match("weight", getWeight(), {"V", "D"})) &&
                 succeeded(c.match("logits", getLogits(), {"B", "L", "V"})));
}

//===----------------------------------------------------------------------===//
// Causal conv1d
//===----------------------------------------------------------------------===//

/// Shared contract of the prefill conv and its one-token step. `seq` is "L"
/// for prefill and "1" for a step.
template <typename OpTy>
static LogicalResult verifyConv(OpTy op, ShapeContract &c, StringRef seq) {
  if (failed(c.match("x", op.getX(), {"B", seq, "C"})) ||
      failed(c.match("weight", op.getWeight(), {"C", "K"})) ||
      failed(c.match("y", op.getY(), {"B", seq, "C"})))
    return failure();
  if (op.getBias() && failed(c.match("bias", op.getBias(), {"C"})))
    return failure();
  return success();
}

LogicalResult CausalConv1dOp::verify() {
  ShapeContract c(*this);
  if (failed(verifyConv(*this, c, "L")))
    return failure();
  return c.match("state", getState(), {"B", "C", "K"});
}

LogicalResult CausalConv1dStepOp::verify() {
  ShapeContract c(*this);
  if (failed(verifyConv(*this, c, "1")))
    return failure();
  return success(succeeded(c.match("state", getState(), {"B", "C", "K"})) &&
                 succeeded(c.match("new_state", getNewState(),
                                   {"B", "C", "K"})));
}

//===----------------------------------------------------------------------===//
// Mamba2 SSD
//===----------------------------------------------------------------------===//

/// Shared contract of ssd_scan and ssd_step: x [B, seq, E], dt [B, seq, H],
/// B/C [B, seq, G*N], E = H * P, G divides H, D [H] or [E].
template <typename OpTy>
static LogicalResult verifySSD(OpTy op, ShapeContract &c, StringRef seq) {
  int64_t headdim = op.getHeaddim(), ngroups = op.getNgroups();
  if (failed(requirePositive(op, "headdim", headdim)) ||
      failed(requirePositive(op, "ngroups", ngroups)))
    return failure();
  std::string headdimOrigin = "headdim = " + std::to_string(headdim);
  if (failed(c.bind("P", headdim, "headdim", headdimOrigin)) ||
      failed(c.match("x", op.getX(), {"B", seq, "E"})) ||
      failed(c.match("dt", op.getDt(), {"B", seq, "H"})) ||
      failed(c.match("B", op.getB(), {"B", seq, "GN"})) ||
      failed(c.match("C", op.getC(), {"B", seq, "GN"})) ||
      failed(c.match("A_log", op.getALog(), {"H"})) ||
      failed(c.match("dt_bias", op.getDtBias(), {"H"})) ||
      failed(c.match("y", op.getY(), {"B", seq, "E"})))
    return failure();
  // E = H * P: derive whichever side is unknown, check when both are known.
  std::optional<int64_t> e = c.lookup("E"), h = c.lookup("H");
  if (e && h && *e != *h * headdim)
    return op.emitOpError() << "nheads * headdim (" << *h << " * " << headdim
                            << " = " << *h * headdim
                            << ") must equal the channels of 'x' (" << *e
                            << ")";
  if (e && !h &&
      failed(bindQuotient(op, c, "E", "'x'", headdim, "headdim", "H")))
    return failure();
  if (h && !e)
    (void)c.bind("E", *h * headdim, "nheads * headdim",
                 "nheads * headdim = " + std::to_string(*h * headdim));
  if (std::optional<int64_t> heads = c.lookup("H");
      heads && *heads % ngroups != 0)
    return op.emitOpError() << "ngroups (" << ngroups
                            << ") must divide nheads (" << *heads << ")";
  if (failed(bindQuotient(op, c, "GN", "'B'", ngroups, "ngroups", "N")))
    return failure();
  // D is per head, or per channel when the checkpoint has D_has_hdim.
  auto dType = cast<RankedTensorType>(op.getD().getType());
  if (dType.getRank() != 1)
    return op.emitOpError() << "'D' must have rank 1 ([H] or [E]), got "
                            << dType;
  int64_t dSize = dType.getDimSize(0);
  std::optional<int64_t> heads = c.lookup("H"), channels = c.lookup("E");
  if (!ShapedType::isDynamic(dSize) && heads && channels && dSize != *heads &&
      dSize != *channels)
    return op.emitOpError() << "'D' has " << dSize
                            << " elements, expected nheads (" << *heads
                            << ") or d_inner (" << *channels << ")";
  return success();
}

/// dt_min / dt_max of the prefill scan: 0 <= dt_min <= dt_max, no NaN.
static LogicalResult verifyDtLimit(SSDScanOp op) {
  double dtMin = op.getDtMin().convertToDouble();
  if (!(dtMin >= 0.0) || std::isinf(dtMin))
    return op.emitOpError() << "dt_min must be finite and >= 0, got "
                            << formatDouble(dtMin);
  if (std::optional<APFloat> dtMax = op.getDtMax()) {
    double max = dtMax->convertToDouble();
    if (!(max >= dtMin))
      return op.emitOpError() << "dt_max (" << formatDouble(max)
                              << ") must be >= dt_min (" << formatDouble(dtMin)
                              << ")";
  }
  return success();
}

LogicalResult SSDScanOp::verify() {
  if (failed(requirePositive(*this, "chunk_size", getChunkSize())) ||
      failed(verifyDtLimit(*this)))
    return failure();
  ShapeContract c(*this);
  if (failed(verifySSD(*this, c, "L")))
    return failure();
  return c.match("state", getState(), {"B", "H", "P", "N"});
}

LogicalResult SSDStepOp::verify() {
  ShapeContract c(*this);
  if (failed(verifySSD(*this, c, "1")))
    return failure();
  return success(
      succeeded(c.match("state", getState(), {"B", "H", "P", "N"})) &&
      succeeded(c.match("new_state", getNewState(), {"B", "H", "P", "N"})));
}

LogicalResult GatedRMSNormOp::verify() {
  if (failed(verifyEps(*this, getEps())))
    return failure();
  if (failed(requirePositive(*this, "group_size", getGroupSize())))
    return failure();
  ShapeContract c(*this);
  if (failed(c.match("y", getY(), {"B", "L", "E"})) ||
      failed(c.match("z", getZ(), {"B", "L", "E"})) ||
      failed(c.match("weight", getWeight(), {"E"})) ||
      failed(c.match("output", getOutput(), {"B", "L", "E"})))
    return failure();
  if (std::optional<int64_t> e = c.lookup("E"); e && *e % getGroupSize() != 0)
    return emitOpError() << "group_size (" << getGroupSize()
                         << ") must divide d_inner (" << *e << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// Mamba1 selective scan
//===----------------------------------------------------------------------===//

/// Shared contract of selective_scan and selective_step.
template <typename OpTy>
static LogicalResult verifySelective(OpTy op, ShapeContract &c,
                                     StringRef seq) {
  return success(succeeded(c.match("x", op.getX(), {"B", seq, "E"})) &&
                 succeeded(c.match("dt", op.getDt(), {"B", seq, "E"})) &&
                 succeeded(c.match("B", op.getB(), {"B", seq, "N"})) &&
                 succeeded(c.match("C", op.getC(), {"B", seq, "N"})) &&
                 succeeded(c.match("z", op.getZ(), {"B", seq, "E"})) &&
                 succeeded(c.match("A_log", op.getALog(), {"E", "N"})) &&
                 succeeded(c.match("D", op.getD(), {"E"})) &&
                 succeeded(c.match("dt_bias", op.getDtBias(), {"E"})) &&
                 succeeded(c.match("y", op.getY(), {"B", seq, "E"})));
}

LogicalResult SelectiveScanOp::verify() {
  ShapeContract c(*this);
  if (failed(verifySelective(*this, c, "L")))
    return failure();
  return c.match("state", getState(), {"B", "E", "N"});
}

LogicalResult SelectiveStepOp::verify() {
  ShapeContract c(*this);
  if (failed(verifySelective(*this, c, "1")))
    return failure();
  return success(
      succeeded(c.match("state", getState(), {"B", "E", "N"})) &&
      succeeded(c.match("new_state", getNewState(), {"B", "E", "N"})));
}

//===----------------------------------------------------------------------===//
// Hadamard
//===----------------------------------------------------------------------===//

/// Whether `n` is 2^k, 12 * 2^k or 40 * 2^k.
static bool isSupportedHadamardSize(int64_t n) {
  for (int64_t base : {1, 12, 40})
    if (n % base == 0 && llvm::isPowerOf2_64(n / base))
      return true;
  return false;
}

LogicalResult HadamardOp::verify() {
  auto type = cast<RankedTensorType>(getInput().getType());
  if (type.getRank() == 0)
    return emitOpError("'input' must have rank >= 1");
  int64_t n = type.getDimSize(type.getRank() - 1);
  if (!ShapedType::isDynamic(n) && !isSupportedHadamardSize(n))
    return emitOpError() << "size " << n
                         << " of the last dimension is not 2^k, 12 * 2^k or "
                            "40 * 2^k";
  return success();
}

#define GET_OP_CLASSES
#include "dialect/Mamba/IR/MambaOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// `scales` must broadcast against the trailing dimensions of `value`
/// (shapes right-aligned; each scales dimension equal to the value's or 1).
static LogicalResult verifyBroadcastScales(Operation *op, Value value,
                                           Value scales) {
  auto valueType = cast<RankedTensorType>(value.getType());
  auto scalesType = cast<RankedTensorType>(scales.getType());
  if (!scalesType.hasStaticShape())
    return op->emitOpError() << "'scales' must have a static shape, got "
                             << scalesType;
  if (scalesType.getRank() > valueType.getRank())
    return op->emitOpError()
           << "'scales' " << scalesType << " has more dimensions than the "
           << "quantized tensor " << valueType;
  int64_t offset = valueType.getRank() - scalesType.getRank();
  for (int64_t i = 0; i < scalesType.getRank(); ++i) {
    int64_t s = scalesType.getDimSize(i);
    int64_t v = valueType.getDimSize(offset + i);
    if (s == 1 || s == v)
      continue;
    return op->emitOpError()
           << "'scales' " << scalesType << " does not broadcast against "
           << valueType << ": scales dimension " << i << " is " << s
           << ", tensor dimension " << offset + i << " is "
           << (ShapedType::isDynamic(v) ? std::string("dynamic")
                                        : std::to_string(v));
  }
  return success();
}

static LogicalResult verifySameShape(Operation *op, Value input,
                                     Value result) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto resultType = cast<RankedTensorType>(result.getType());
  if (failed(verifyCompatibleShape(inputType.getShape(),
                                   resultType.getShape())))
    return op->emitOpError() << "'result' " << resultType
                             << " must have the shape of 'input' "
                             << inputType;
  return success();
}

LogicalResult QuantizeOp::verify() {
  return success(
      succeeded(verifyBroadcastScales(*this, getInput(), getScales())) &&
      succeeded(verifySameShape(*this, getInput(), getResult())));
}

LogicalResult DequantizeOp::verify() {
  return success(
      succeeded(verifyBroadcastScales(*this, getInput(), getScales())) &&
      succeeded(verifySameShape(*this, getInput(), getResult())));
}

/// The contract every quantized linear shares: input [B, L, K], result
/// [B, L, N], optional bias [N]; `weightDims` names the weight's dims.
static LogicalResult verifyQuantizedLinear(Operation *op, ShapeContract &c,
                                           Value input, Value weight,
                                           ArrayRef<StringRef> weightDims,
                                           Value bias, Value result) {
  if (failed(c.match("input", input, {"B", "L", "in_features"})) ||
      failed(c.match("weight", weight, weightDims)) ||
      failed(c.match("result", result, {"B", "L", "out_features"})))
    return failure();
  if (bias && failed(c.match("bias", bias, {"out_features"})))
    return failure();
  return success();
}

/// Binds `unpacked` to twice the byte count `packed` of a 4-bit operand's
/// last dimension (two values per byte).
static LogicalResult bindUnpackedInt4(ShapeContract &c, StringRef operand,
                                      StringRef packed, StringRef unpacked) {
  std::optional<int64_t> bytes = c.lookup(packed);
  if (!bytes)
    return success();
  return c.bind(unpacked, 2 * *bytes,
                ("'" + operand + "' dimension 1 (" + llvm::Twine(*bytes) +
                 " bytes, two 4-bit values each)")
                    .str(),
                ("'" + operand + "' packs two 4-bit values per byte in " +
                 llvm::Twine(*bytes) + " bytes")
                    .str());
}

/// 4-bit weights: [N, K/2] bytes, group scales [N, K/group_size].
static LogicalResult verifyInt4Weight(Operation *op, ShapeContract &c,
                                      Value groupScales, int64_t groupSize) {
  if (groupSize <= 0 || groupSize % 2 != 0)
    return op->emitOpError() << "group_size must be positive and even, got "
                             << groupSize;
  if (failed(bindUnpackedInt4(c, "weight", "packed_in", "in_features")))
    return failure();
  if (std::optional<int64_t> in = c.lookup("in_features")) {
    if (*in % groupSize != 0)
      return op->emitOpError() << "in_features " << *in
                               << " is not a multiple of group_size "
                               << groupSize;
    if (failed(c.bind("groups", *in / groupSize, "'group_scales' dimension 1",
                      ("in_features / group_size = " + llvm::Twine(*in) +
                       " / " + llvm::Twine(groupSize) + " = " +
                       llvm::Twine(*in / groupSize))
                          .str())))
      return failure();
  }
  return c.match("group_scales", groupScales, {"out_features", "groups"});
}

static LogicalResult verifyPerTensorScale(Operation *op, Value scale) {
  auto type = cast<RankedTensorType>(scale.getType());
  if (type.getRank() == 1 && type.getDimSize(0) == 1)
    return success();
  return op->emitOpError() << "'input_scale' must be tensor<1xf32> (one "
                           << "scale per tensor), got " << type;
}

LogicalResult LinearW8A8Op::verify() {
  ShapeContract c(*this);
  return success(
      succeeded(verifyPerTensorScale(*this, getInputScale())) &&
      succeeded(verifyQuantizedLinear(*this, c, getInput(), getWeight(),
                                      {"out_features", "in_features"},
                                      getBias(), getResult())) &&
      succeeded(c.match("weight_scales", getWeightScales(),
                        {"out_features"})));
}

/// W4A8's in-kernel decode computes in fp16 (Marlin-QQQ), which equals the
/// fp32 reference only for fp16-valued scales: a constant 'group_scales'
/// must hold them (NaN and values beyond the fp16 range saturate alike and
/// are allowed). Scales computed at run time are the producer's contract.
static LogicalResult verifyHalfValuedScales(Operation *op, Value scales) {
  Attribute attr;
  if (!matchPattern(scales, m_Constant(&attr)))
    return success();
  ArrayRef<char> bytes;
  SmallVector<float> dense;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      bytes = blob->getData();
  } else if (auto values = dyn_cast<DenseFPElementsAttr>(attr)) {
    dense.assign(values.getValues<float>().begin(), values.getValues<float>().end());
    bytes = ArrayRef(reinterpret_cast<const char *>(dense.data()), dense.size() * sizeof(float));
  }
  for (size_t i = 0; i + sizeof(float) <= bytes.size(); i += sizeof(float)) {
    float v;
    std::memcpy(&v, bytes.data() + i, sizeof(v));
    if (std::isnan(v) || std::fabs(v) > 65504.0f)
      continue;
    bool losesInfo = false;
    APFloat half(v);
    half.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &losesInfo);
    if (losesInfo) {
      char text[32];
      std::snprintf(text, sizeof(text), "%.9g", v);
      return op->emitOpError() << "'group_scales' must be fp16-valued (the "
                               << "in-kernel int4 -> int8 decode runs in fp16), "
                               << "element " << i / sizeof(float) << " is " << text;
    }
  }
  return success();
}

LogicalResult LinearW4A8Op::verify() {
  ShapeContract c(*this);
  return success(
      succeeded(verifyPerTensorScale(*this, getInputScale())) &&
      succeeded(verifyQuantizedLinear(*this, c, getInput(), getWeight(),
                                      {"out_features", "packed_in"},
                                      getBias(), getResult())) &&
      succeeded(verifyInt4Weight(*this, c, getGroupScales(),
                                 getGroupSize())) &&
      succeeded(verifyHalfValuedScales(*this, getGroupScales())) &&
      succeeded(c.match("channel_scales", getChannelScales(),
                        {"out_features"})));
}

LogicalResult LinearW4A16Op::verify() {
  ShapeContract c(*this);
  return success(
      succeeded(verifyQuantizedLinear(*this, c, getInput(), getWeight(),
                                      {"out_features", "packed_in"},
                                      getBias(), getResult())) &&
      succeeded(verifyInt4Weight(*this, c, getGroupScales(),
                                 getGroupSize())));
}

LogicalResult QuantizedEmbeddingOp::verify() {
  int64_t bits = getBits();
  if (bits != 4 && bits != 8)
    return emitOpError() << "bits must be 4 or 8, got " << bits;
  // The table first: it defines V, so a wrong 'scales' length is blamed on
  // 'scales'.
  ShapeContract c(*this);
  if (failed(c.match("tokens", getTokens(), {"B", "L"})) ||
      failed(c.match("result", getResult(), {"B", "L", "D"})))
    return failure();
  if (bits == 8) {
    if (failed(c.match("table", getTable(), {"V", "D"})))
      return failure();
  } else {
    if (failed(c.match("table", getTable(), {"V", "packed_D"})))
      return failure();
    if (failed(bindUnpackedInt4(c, "table", "packed_D", "D")))
      return failure();
  }
  return c.match("scales", getScales(), {"V"});
}
