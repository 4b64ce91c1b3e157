//===- Split.cpp - split the last dimension into pieces ------------------===//
//
// x[rows, W] -> out_k[rows, s_k] (the interpreter's split: piece k takes
// columns [offset_k, offset_k + s_k) of each row). One thread per element
// of x (= one per output element: the pieces partition the row); the
// thread's column picks the piece with a static chain of range checks. A
// plain copy, so any dtype works (non-f32 kernels are named by their dtype).
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"

namespace mlir::quamba::codegen {

LogicalResult emitSplit(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  auto it = launch.attrs.find("sizes");
  if (it == launch.attrs.end() || it->second.empty())
    return emitError(loc) << "split launch without 'sizes'";
  std::vector<int64_t> sizes;
  for (double s : it->second)
    sizes.push_back(static_cast<int64_t>(s));
  const unsigned pieces = static_cast<unsigned>(sizes.size());
  if (launch.operands.size() != 1 + pieces)
    return emitError(loc) << "split launch has " << launch.operands.size()
                          << " operands for " << pieces << " pieces";
  const int64_t width = ctx.dim(0, -1);
  int64_t total = 0;
  for (unsigned p = 0; p < pieces; ++p) {
    if (sizes[p] <= 0 || ctx.dim(1 + p, -1) != sizes[p])
      return emitError(loc) << "split piece " << p << " has the wrong size";
    total += sizes[p];
  }
  if (total != width)
    return emitError(loc) << "split sizes add up to " << total
                          << ", not the row width " << width;

  const int numWarps = 4;
  plan::ShapeExpr rows = ctx.rows(0);
  launch.scalars = {rows};
  ctx.gridFor(ctx.numel(0), numWarps);
  std::string name = "split_w" + std::to_string(width) + "_s";
  for (unsigned p = 0; p < pieces; ++p)
    name += (p ? "_" : "") + std::to_string(sizes[p]);
  // Any element type (the pieces have the input's dtype); f32 in practice.
  const ArgKind kind = ctx.pointerKind(0);
  for (unsigned p = 0; p < pieces; ++p)
    if (ctx.pointerKind(1 + p) != kind)
      return emitError(loc) << "split piece " << p << " changes the dtype";
  if (kind != ArgKind::PtrF32)
    name += std::string("_") + (kind == ArgKind::PtrI32  ? "i32"
                                : kind == ArgKind::PtrU8 ? "u8"
                                                         : "i8");
  const unsigned rowsArg = 1 + pieces;
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type element = kind == ArgKind::PtrF32   ? Type(b.getF32Type())
                   : kind == ArgKind::PtrI32 ? Type(b.getI32Type())
                                             : Type(b.getI8Type());
    Value i = k.globalIdx();
    Value count =
        arith::MulIOp::create(b, k.argIndex(rowsArg), k.idx(width));
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, count);
    k.ifThen(inBounds, [&] {
      Value row = arith::DivUIOp::create(b, i, k.idx(width));
      Value col = arith::RemUIOp::create(b, i, k.idx(width));
      Value v = k.load(element, k.arg(0), i);
      int64_t offset = 0;
      for (unsigned p = 0; p < pieces; ++p) {
        int64_t size = sizes[p];
        Value afterStart = arith::CmpIOp::create(
            b, arith::CmpIPredicate::uge, col, k.idx(offset));
        Value beforeEnd = arith::CmpIOp::create(
            b, arith::CmpIPredicate::ult, col, k.idx(offset + size));
        Value inPiece = arith::AndIOp::create(b, afterStart, beforeEnd);
        k.ifThen(inPiece, [&] {
          Value dst = arith::AddIOp::create(
              b, arith::MulIOp::create(b, row, k.idx(size)),
              arith::SubIOp::create(b, col, k.idx(offset)));
          k.store(v, k.arg(1 + p), dst);
        });
        offset += size;
      }
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
