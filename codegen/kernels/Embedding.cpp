//===- Embedding.cpp - token embedding lookups ----------------------------===//
//
// One thread per output element: out[t, d] for token t of `count` (B * L)
// and channel d of D.
//   embedding:            out[t, d] = table[id, d]          (ref::embedding)
//   quantized_embedding:  out[t, d] = float(v[id, d]) * scales[id]
//     bits = 8: v = table[id, d] (i8);
//     bits = 4: byte = table[id, d / 2], code = d even ? byte & 15 : byte >> 4,
//               v = code - 8 (ref::unpackInt4, then ref::dequantizeInt8).
// Token ids are checked on the host; an id outside [0, V) anyway never reads
// out of bounds: it reads row 0 and writes 0.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"

namespace mlir::quamba::codegen {

LogicalResult emitEmbedding(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const bool quantized = launch.op == "quantized_embedding";
  // Operands: embedding table, tokens, out; quantized_embedding table,
  // scales, tokens, out.
  const unsigned tokensArg = quantized ? 2 : 1;
  const unsigned outArg = tokensArg + 1;
  const unsigned countArg = outArg + 1;
  const int64_t vocab = ctx.dim(0, 0);
  const int64_t dim = ctx.dim(outArg, -1);
  const int64_t rowBytes = ctx.dim(0, -1);
  int64_t bits = 0;
  if (ctx.pointerKind(tokensArg) != ArgKind::PtrI32)
    return emitError(loc) << launch.op << ": tokens are not i32";
  if (vocab <= 0 || dim <= 0)
    return emitError(loc) << launch.op << ": empty table";
  if (quantized) {
    bits = static_cast<int64_t>(launch.attr("bits"));
    if (bits != 8 && bits != 4)
      return emitError(loc) << "quantized_embedding: bits " << bits
                            << " is not 8 or 4";
    if (rowBytes != (bits == 8 ? dim : (dim + 1) / 2))
      return emitError(loc) << "quantized_embedding: table rows of "
                            << rowBytes << " bytes for " << dim << " values";
    if (ctx.dim(1, 0) != vocab)
      return emitError(loc) << "quantized_embedding: not one scale per row";
  } else if (rowBytes != dim) {
    return emitError(loc) << "embedding: table rows of " << rowBytes
                          << " values for an output of " << dim;
  }

  const int numWarps = 4;
  plan::ShapeExpr count = ctx.numel(tokensArg);
  launch.scalars = {count};
  ctx.gridFor(mulExpr(count, plan::ShapeExpr(dim)), numWarps);
  std::string name = launch.op;
  if (quantized)
    name += "_b" + std::to_string(bits);
  name += "_v" + std::to_string(vocab) + "_d" + std::to_string(dim);
  if (quantized && ctx.pointerKind(0) == ArgKind::PtrU8)
    name += "_u8";
  // An f16 table (quamba-cast-weights) is widened exactly on load.
  const bool f16Table = !quantized && ctx.pointerKind(0) == ArgKind::PtrF16;
  if (f16Table)
    name += "_f16";
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type(), i8 = b.getI8Type(), i32 = b.getI32Type();
    Value i = k.globalIdx();
    Value total = arith::MulIOp::create(b, k.argIndex(countArg), k.idx(dim));
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, total);
    k.ifThen(inBounds, [&] {
      Value t = arith::DivUIOp::create(b, i, k.idx(dim));
      Value d = arith::RemUIOp::create(b, i, k.idx(dim));
      Value token = k.load(i32, k.arg(tokensArg), t);
      // 0 <= token < V as one unsigned compare.
      Value valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, token,
                                          k.i32(vocab));
      Value id = arith::SelectOp::create(b, valid, token, k.i32(0));
      Value row = arith::IndexCastUIOp::create(b, b.getIndexType(), id);
      Value rowBase = arith::MulIOp::create(b, row, k.idx(rowBytes));
      Value value;
      if (!quantized) {
        Value at = arith::AddIOp::create(b, rowBase, d);
        value = f16Table ? arith::ExtFOp::create(
                               b, f32, k.load(b.getF16Type(), k.arg(0), at))
                               .getResult()
                         : k.load(f32, k.arg(0), at);
      } else {
        Value v;
        if (bits == 8) {
          Value q = k.load(i8, k.arg(0), arith::AddIOp::create(b, rowBase, d));
          v = arith::ExtSIOp::create(b, i32, q);
        } else {
          Value byteIndex = arith::AddIOp::create(
              b, rowBase, arith::ShRUIOp::create(b, d, k.idx(1)));
          Value byte = arith::ExtUIOp::create(
              b, i32, k.load(i8, k.arg(0), byteIndex));
          // Odd d: the high nibble (shift by 4), even d: the low one.
          Value odd = arith::IndexCastUIOp::create(
              b, i32, arith::AndIOp::create(b, d, k.idx(1)));
          Value shift = arith::ShLIOp::create(b, odd, k.i32(2));
          Value code = arith::AndIOp::create(
              b, arith::ShRUIOp::create(b, byte, shift), k.i32(15));
          v = arith::SubIOp::create(b, code, k.i32(8));
        }
        Value scale = k.load(f32, k.arg(1), row);
        value = arith::MulFOp::create(
            b, arith::SIToFPOp::create(b, f32, v), scale);
      }
      value = arith::SelectOp::create(b, valid, value, k.f32(0.0f));
      k.store(value, k.arg(outArg), i);
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
