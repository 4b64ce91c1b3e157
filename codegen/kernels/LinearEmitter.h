//===- LinearEmitter.h - the linear kernels' shared pieces ------*- C++ -*-===//
//
// The description of one linear launch (LinearSpec: kind, shapes, operand
// indices, split and requantized epilogue) and the emitter of the pieces
// every linear kernel shares (int4 decode, the epilogue, vector loads).
// Used by Linear.cpp (GEMV and register-tiled mma kernels) and
// LinearTiled.cpp (the shared-memory tiled tensor-core GEMM).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>

namespace mlir::quamba::codegen::linear {

enum class Kind { F32, W8A8, W4A8, W4A16 };

struct LinearSpec {
  Kind kind = Kind::F32;
  int64_t K = 0, N = 0, group = 0;
  bool hasBias = false;
  /// The parts of a split epilogue (LaunchOps.h); empty: one output.
  SmallVector<int64_t> parts;
  /// Per part, the kernel argument of its requantize scales, or -1.
  SmallVector<int> requant;
  /// F32 kind with f16 weights (quamba-cast-weights), widened on load.
  bool f16Weights = false;
  /// A conv-step epilogue (LaunchOps.h): the step of channel n - convStart
  /// runs where column n of part convPart is stored.
  std::optional<ConvStepArgs> conv;
  int64_t convStart = 0;
  /// The weights (and their scales and bias) are weight buffers, which no
  /// launch writes: the decode GEMV loads them before it awaits the
  /// previous kernel (KernelBuilder::awaitPredecessor), so with
  /// programmatic launch they stream in while that kernel runs.
  bool preloadWeights = false;
  // Operand indices (-1: absent).
  int x = 0, xScale = -1, w = 1, groupScales = -1, wScales = -1, bias = -1,
      out = 2;
  unsigned operands = 3;

  bool int4() const { return kind == Kind::W4A8 || kind == Kind::W4A16; }
  bool integer() const { return kind == Kind::W8A8 || kind == Kind::W4A8; }
  /// Elements of K per 16-byte weight chunk.
  int64_t chunk() const {
    if (kind == Kind::F32)
      return f16Weights ? 8 : 4;
    return int4() ? 32 : 16;
  }
  /// Bytes of one weight row.
  int64_t weightRowBytes() const {
    if (int4())
      return K / 2;
    if (kind == Kind::F32)
      return K * (f16Weights ? 2 : 4);
    return K;
  }
};

/// Emits the kernel body pieces the linear kernels share.
class LinearEmitter {
public:
  LinearEmitter(KernelBuilder &k, const LinearSpec &spec)
      : k(k), b(k.b()), s(spec) {
    i8 = b.getI8Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
  }

  /// The arithmetic identity of the accumulator.
  Value zero() { return s.integer() ? k.i32(0) : k.f32(0.0f); }

  Value add(Value a, Value c) {
    if (s.integer())
      return arith::AddIOp::create(b, a, c);
    return arith::AddFOp::create(b, a, c, contract());
  }

  /// acc + x * w for one element; x and w are i32 (integer paths) or f32.
  Value mac(Value acc, Value x, Value w) {
    if (s.integer())
      return arith::AddIOp::create(b, acc, arith::MulIOp::create(b, x, w));
    Value p = arith::MulFOp::create(b, x, w, contract());
    return arith::AddFOp::create(b, acc, p, contract());
  }

  /// An int8 x element as i32, or an f32 x element as is.
  Value xElement(Value raw) {
    if (s.integer())
      return arith::ExtSIOp::create(b, i32, raw);
    return raw;
  }

  /// The two weights of one packed int4 byte (element 2i, 2i+1), given the
  /// group scale of each: i32 for w4a8 (the int8 weight), f32 for w4a16.
  std::pair<Value, Value> decodeByte(Value byte, Value scaleLo,
                                     Value scaleHi) {
    Value wide = arith::ExtUIOp::create(b, i32, byte);
    Value lo = arith::AndIOp::create(b, wide, k.i32(15));
    Value hi = arith::ShRUIOp::create(b, wide, k.i32(4));
    return {decodeCode(lo, scaleLo), decodeCode(hi, scaleHi)};
  }

  /// The int8 words (vector<4xi8>, K order) of `bytes` packed int4 bytes
  /// held in the i32 `words`, each weight decoded with `scale` (w4a8; every
  /// weight of the run is in one group), exactly decodeByte's
  /// sat8(RNE(float(code - 8) * scale)) for fp16-valued scales (the
  /// operation's contract, LinearW4A8Op), the Marlin-QQQ way: two codes a
  /// half2, (1024 + code) by or-ing the exponent in, minus 1032 (exact),
  /// then fma(code - 8, s, 1536) rounds the exact product once, half-even,
  /// at unit spacing (1536 is even: RNE commutes with the offset), clamped
  /// to 1536 + [-128, 127]; the result's low byte is the int8 weight. About
  /// 3.4 instructions a weight instead of ~12 with three conversions.
  SmallVector<Value> decodeInt4Words(ArrayRef<Value> words, int64_t bytes, Value scale) {
    auto half2 = VectorType::get({2}, b.getF16Type());
    auto word = VectorType::get({4}, i8);
    auto splat = [&](float v) {
      return LLVM::ConstantOp::create(
          b, half2, DenseElementsAttr::get(half2, b.getFloatAttr(b.getF16Type(), v)));
    };
    Value s1 = halfScale(scale);
    Value s2 = LLVM::UndefOp::create(b, half2);
    for (int64_t i = 0; i < 2; ++i)
      s2 = LLVM::InsertElementOp::create(b, s2, s1, k.i32(i));
    Value bias = splat(1032.0f), magic = splat(1536.0f);
    Value lo = splat(1536.0f - 128.0f), hi = splat(1536.0f + 127.0f);
    SmallVector<Value> out;
    for (int64_t i = 0; i * 4 < bytes; ++i) {
      // bits[j]: byte 0 holds code j's weight, byte 2 code j + 4's.
      Value bits[4];
      for (int64_t j = 0; j < 4; ++j) {
        Value w = j == 0 ? words[i] : arith::ShRUIOp::create(b, words[i], k.i32(4 * j)).getResult();
        Value codes = arith::OrIOp::create(b, arith::AndIOp::create(b, w, k.i32(0x000F000F)),
                                           k.i32(0x64006400));
        Value h = LLVM::BitcastOp::create(b, half2, codes);
        // LLVM intrinsics, not math/arith ops: convert-gpu-to-nvvm would
        // widen those to f32 libdevice calls (a second rounding).
        h = LLVM::FSubOp::create(b, h, bias);
        h = LLVM::FMAOp::create(b, h, s2, magic);
        h = LLVM::MaxNumOp::create(b, LLVM::MinNumOp::create(b, h, hi), lo);
        bits[j] = LLVM::BitcastOp::create(b, i32, h);
      }
      // [w0 w1 w4 w5], [w2 w3 w6 w7], then K order.
      Value p = permute(bits[0], bits[1], 0x6240), q = permute(bits[2], bits[3], 0x6240);
      out.push_back(LLVM::BitcastOp::create(b, word, permute(p, q, 0x5410)));
      if (bytes - 4 * i > 2)
        out.push_back(LLVM::BitcastOp::create(b, word, permute(p, q, 0x7632)));
    }
    return out;
  }

  /// The two int8 words (vector<4xi8>, K order) of the eight int4 codes in
  /// the i32 `word`, looked up in `table` (four i32 words: the int8 weights
  /// of codes 4i..4i+3 in word i, decodeInt4Words' bits): per four codes two
  /// prmt lookups (codes & 7 into entries 0-7 and 8-15) and a bytewise
  /// select on each code's bit 3, whose byte mask a prmt in sign-replicate
  /// mode builds (the bit brought to each byte's top). About 1.6
  /// instructions a weight, after the table's cost.
  SmallVector<Value> lookupInt4Word(Value word, ArrayRef<Value> table) {
    auto asWord = VectorType::get({4}, i8);
    Value low3 = arith::AndIOp::create(b, word, k.i32(0x77777777));
    Value shifted = arith::ShLIOp::create(b, word, k.i32(4));
    SmallVector<Value> out;
    for (int half = 0; half < 2; ++half) {
      // Code i's bit 3 is the top bit of byte i/2 of `shifted` (i even) or
      // of `word` (i odd); sign-replicate selectors 8 + byte (shifted is
      // the pool's low word, word its high one).
      Value mask = permute(shifted, word, half == 0 ? 0xD9C8 : 0xFBEA);
      Value selector =
          half == 0 ? low3 : arith::ShRUIOp::create(b, low3, k.i32(16)).getResult();
      Value lo = permute(table[0], table[1], selector);
      Value hi = permute(table[2], table[3], selector);
      Value picked = arith::OrIOp::create(
          b, arith::AndIOp::create(b, hi, mask),
          arith::AndIOp::create(b, lo, arith::XOrIOp::create(b, mask, k.i32(-1))));
      out.push_back(LLVM::BitcastOp::create(b, asWord, picked));
    }
    return out;
  }

  /// lookupInt4Word's table for `scale`, built by one thread: codes
  /// 4j .. 4j+3 decoded by decodeInt4Words into word j.
  SmallVector<Value> int4Table(Value scale) {
    SmallVector<Value> table;
    for (int64_t j = 0; j < 4; ++j)
      table.push_back(LLVM::BitcastOp::create(
          b, i32, decodeInt4Words({k.i32(0x3210 + 0x4444 * j)}, 2, scale)[0]));
    return table;
  }

  /// acc + the dot product of two int8 words (dp4a, signed x signed).
  Value dot4(Value acc, Value x, Value w) {
    auto sgn = NVVM::DotAccumulateTypeAttr::get(b.getContext(), NVVM::DotAccumulateType::SIGNED);
    return NVVM::DotAccumulate4WayOp::create(b, i32, x, sgn, w, sgn, acc);
  }

  /// The int8 weight element as i32 (w8a8).
  Value w8Element(Value raw) { return arith::ExtSIOp::create(b, i32, raw); }

  /// The per-column operands of the epilogue (weight scale, bias; null
  /// where the kind has none).
  struct ColumnEpilogue {
    Value wScale, bias;
    /// x_scale * wScale, where a caller reuses the column for many rows
    /// (the product epilogue() would compute each time: same bits).
    Value xwScale;
  };

  /// Loads column n's epilogue operands (invariant loads): a kernel that
  /// loads them before its main loop overlaps their latency with the
  /// weights' instead of adding it after the reduction.
  ColumnEpilogue loadColumnEpilogue(Value n) {
    ColumnEpilogue c;
    if (s.integer())
      c.wScale = k.loadInvariant(f32, k.arg(s.wScales), n);
    if (s.hasBias)
      c.bias = k.loadInvariant(f32, k.arg(s.bias), n);
    return c;
  }

  /// The epilogue of one output: the value to store.
  Value epilogue(Value acc, const ColumnEpilogue &c) {
    Value y = acc;
    if (s.integer()) {
      Value t = c.xwScale ? c.xwScale : arith::MulFOp::create(b, xScaleValue, c.wScale);
      Value accF = arith::SIToFPOp::create(b, f32, acc);
      y = arith::MulFOp::create(b, accF, t);
    }
    if (s.hasBias)
      y = arith::AddFOp::create(b, y, c.bias);
    return y;
  }

  /// A conv-step epilogue's column: whether column n holds a channel of the
  /// step's part, the channel (clamped into the part, so that every column
  /// may load), and the channel's loads when issued early.
  struct ConvColumn {
    Value inPart, channel;
    std::optional<ConvStepChannel> loads;
  };
  ConvColumn convColumn(Value row, Value n, bool loadNow) {
    ConvColumn cc;
    // n < convStart wraps around to a large channel: one unsigned compare.
    Value rel = arith::SubIOp::create(b, n, k.idx(s.convStart));
    cc.inPart = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, rel, k.idx(s.conv->channels));
    cc.channel = arith::SelectOp::create(b, cc.inPart, rel, k.idx(0));
    if (loadNow)
      cc.loads = loadConvStepChannel(k, *s.conv, row, cc.channel);
    return cc;
  }

  /// Stores output (row, n) at `slot`; with a conv-step epilogue, a column
  /// of the step's part then runs the step of its channel on the value
  /// stored (the requantized one where the part is requantized: what the
  /// step would read back), with its loads from `pre` when given.
  void store(const OutputSlot &slot, Value value, Value row, Value n,
             const ConvColumn *pre = nullptr) {
    Value stored = storeOutput(k, slot, value);
    if (!s.conv)
      return;
    ConvColumn cc = pre ? *pre : convColumn(row, n, /*loadNow=*/false);
    k.ifThen(cc.inPart, [&] {
      if (cc.loads)
        storeConvStepChannel(k, *s.conv, *cc.loads, row, cc.channel, stored);
      else
        emitConvStepChannel(k, *s.conv, row, cc.channel, stored);
    });
  }

  /// The epilogue of output (n), loading its operands now.
  Value epilogue(Value acc, Value n) { return epilogue(acc, loadColumnEpilogue(n)); }

  /// Loads x_scale[0] (integer paths), once per thread.
  void loadXScale() {
    if (s.integer())
      xScaleValue = k.load(f32, k.arg(s.xScale), k.idx(0));
  }

  /// The scale of group `g` (an index) of output row n.
  Value groupScale(Value n, Value g) {
    Value groups = k.idx(s.K / s.group);
    Value at = arith::AddIOp::create(
        b, arith::MulIOp::create(b, n, groups), g);
    return k.load(f32, k.arg(s.groupScales), at);
  }

  /// 16 bytes at byte offset `offset` of pointer `ptr`, as `type`
  /// (a 16-byte vector), with alignment 16.
  Value loadVector(Type type, Value ptr, Value offset) {
    Value off = arith::IndexCastOp::create(b, b.getI64Type(), offset);
    Value addr = LLVM::GEPOp::create(b, ptr.getType(), i8, ptr,
                                     ValueRange{off});
    return LLVM::LoadOp::create(b, type, addr, /*alignment=*/16);
  }

  Value extract(Value vector, int64_t i) {
    return LLVM::ExtractElementOp::create(b, vector, k.i32(i));
  }

  KernelBuilder &k;
  ImplicitLocOpBuilder &b;
  const LinearSpec &s;
  Type i8, i32, f32;
  Value xScaleValue;

private:
  /// fp32 linears may contract to fma (their reference is BLAS, whose
  /// order is unspecified anyway); w4a16 reproduces ref::linearW4A16.
  arith::FastMathFlagsAttr contract() {
    return arith::FastMathFlagsAttr::get(
        b.getContext(), s.kind == Kind::F32 ? arith::FastMathFlags::contract
                                            : arith::FastMathFlags::none);
  }

  /// Bytes [sel] of the pool {lo, hi} (prmt).
  Value permute(Value lo, Value hi, int32_t selector) { return permute(lo, hi, k.i32(selector)); }
  Value permute(Value lo, Value hi, Value selector) {
    return NVVM::PermuteOp::create(b, i32, lo, hi, selector, NVVM::PermuteMode::DEFAULT);
  }

  /// The scale as f16 for decodeInt4Words: NaN -> 0 (the reference's
  /// sat8(NaN) = 0 for every code) and clamped to +-65504 (infinities and
  /// out-of-range values saturate every nonzero code as the reference's
  /// do, and code 8 stays 0 instead of inf * 0 = NaN).
  Value halfScale(Value scale) {
    Value isNan = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, scale, scale);
    Value s = arith::SelectOp::create(b, isNan, k.f32(0.0f), scale);
    s = arith::MaxNumFOp::create(b, arith::MinNumFOp::create(b, s, k.f32(65504.0f)),
                                 k.f32(-65504.0f));
    return arith::TruncFOp::create(b, b.getF16Type(), s);
  }

  Value decodeCode(Value code, Value scale) {
    Value v = arith::SubIOp::create(b, code, k.i32(8));
    Value vf = arith::SIToFPOp::create(b, f32, v);
    // Exact product (4 x 11 significant bits); w4a16: the fp32 weight.
    Value p = arith::MulFOp::create(b, vf, scale);
    if (s.kind == Kind::W4A16)
      return p;
    // w8 = sat8(RNE(p)), NaN -> 0 (ref::saturateToInt8).
    return roundToInt8Saturating(k, p, i32);
  }
};

} // namespace mlir::quamba::codegen::linear
