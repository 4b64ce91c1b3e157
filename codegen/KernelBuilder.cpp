//===- KernelBuilder.cpp - build a Triton-ABI gpu.func --------------------===//
#include "codegen/KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::quamba::codegen {

const char *tritonSignature(ArgKind kind) {
  switch (kind) {
  case ArgKind::PtrF32: return "*fp32";
  case ArgKind::PtrF16: return "*fp16";
  case ArgKind::PtrI8: return "*i8";
  case ArgKind::PtrU8: return "*u8";
  case ArgKind::PtrI32: return "*i32";
  case ArgKind::I32: return "i32";
  }
  return "?";
}

static ImplicitLocOpBuilder atEnd(ModuleOp container) {
  ImplicitLocOpBuilder builder(container.getLoc(), container.getContext());
  builder.setInsertionPointToEnd(container.getBody());
  return builder;
}

KernelBuilder::KernelBuilder(ModuleOp container, StringRef name,
                             ArrayRef<ArgKind> args, int numWarps)
    : builder(atEnd(container)), warps(numWarps) {
  MLIRContext *context = container.getContext();
  container->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                     UnitAttr::get(context));
  module = gpu::GPUModuleOp::create(builder, name);
  builder.setInsertionPointToStart(module.getBody());

  Type globalPtr = LLVM::LLVMPointerType::get(context, /*addressSpace=*/1);
  SmallVector<Type> types;
  for (ArgKind kind : args)
    types.push_back(kind == ArgKind::I32 ? builder.getI32Type() : globalPtr);
  // Triton's hidden trailing arguments: global_scratch, profile_scratch.
  types.append({globalPtr, globalPtr});
  kernel = gpu::GPUFuncOp::create(builder, name,
                                  builder.getFunctionType(types, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                  UnitAttr::get(context));
  kernel.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({blockSize(), 1, 1}));
  builder.setInsertionPointToStart(&kernel.getBody().front());
}

Value KernelBuilder::argIndex(unsigned i) {
  return arith::IndexCastOp::create(builder, builder.getIndexType(), arg(i));
}

Value KernelBuilder::threadIdx() {
  return gpu::ThreadIdOp::create(builder, gpu::Dimension::x);
}

Value KernelBuilder::blockIdx(gpu::Dimension dim) {
  return gpu::BlockIdOp::create(builder, dim);
}

Value KernelBuilder::globalIdx() {
  Value base = arith::MulIOp::create(builder, blockIdx(), idx(blockSize()));
  return arith::AddIOp::create(builder, base, threadIdx());
}

Value KernelBuilder::idx(int64_t value) {
  return arith::ConstantIndexOp::create(builder, value);
}

Value KernelBuilder::i32(int64_t value) {
  return arith::ConstantIntOp::create(builder, value, 32);
}

Value KernelBuilder::f32(float value) {
  return arith::ConstantFloatOp::create(builder, builder.getF32Type(),
                                        APFloat(value));
}

static Value elementAddress(ImplicitLocOpBuilder &builder, Type element,
                            Value ptr, Value index) {
  Value offset =
      arith::IndexCastOp::create(builder, builder.getI64Type(), index);
  return LLVM::GEPOp::create(builder, ptr.getType(), element, ptr,
                             ValueRange{offset});
}

Value KernelBuilder::sharedArray(StringRef name, Type element, int64_t count) {
  constexpr unsigned kSharedAddressSpace = 3;
  LLVM::GlobalOp global;
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    global = LLVM::GlobalOp::create(
        builder, LLVM::LLVMArrayType::get(element, count),
        /*isConstant=*/false, LLVM::Linkage::Internal, name, Attribute(),
        /*alignment=*/16, kSharedAddressSpace);
  }
  return LLVM::AddressOfOp::create(builder, global);
}

namespace {
constexpr StringLiteral kDynamicSharedAttr = "quamba.dynamic_shared_bytes";
} // namespace

int64_t dynamicSharedBytes(gpu::GPUFuncOp func) {
  auto bytes = func->getAttrOfType<IntegerAttr>(kDynamicSharedAttr);
  return bytes ? bytes.getInt() : 0;
}

Value KernelBuilder::dynamicShared(int64_t bytes, int64_t alignment) {
  constexpr unsigned kSharedAddressSpace = 3;
  assert(!kernel->hasAttr(kDynamicSharedAttr) && "one dynamic shared array a kernel");
  kernel->setAttr(kDynamicSharedAttr, builder.getI64IntegerAttr(bytes));
  LLVM::GlobalOp global;
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    // A zero-length external array: NVPTX emits `.extern .shared ...[]`
    // (an internal one would be demoted to a one-byte local).
    global = LLVM::GlobalOp::create(
        builder, LLVM::LLVMArrayType::get(builder.getI8Type(), 0),
        /*isConstant=*/false, LLVM::Linkage::External, "dynamic_shared", Attribute(),
        alignment, kSharedAddressSpace);
  }
  return LLVM::AddressOfOp::create(builder, global);
}

Value KernelBuilder::offsetPointer(Type element, Value ptr, int64_t count) {
  return elementAddress(builder, element, ptr, idx(count));
}

void KernelBuilder::barrier() { gpu::BarrierOp::create(builder); }

Value KernelBuilder::constantTable(StringRef name, ArrayRef<int64_t> values) {
  constexpr unsigned kConstantAddressSpace = 4;
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    builder.getI64Type());
  LLVM::GlobalOp global;
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    global = LLVM::GlobalOp::create(
        builder, LLVM::LLVMArrayType::get(builder.getI64Type(), values.size()),
        /*isConstant=*/true, LLVM::Linkage::Internal, name,
        DenseElementsAttr::get(type, values), /*alignment=*/8, kConstantAddressSpace);
  }
  return LLVM::AddressOfOp::create(builder, global);
}

void KernelBuilder::setClusterSize(int blocks) {
  kernel->setAttr("nvvm.cluster_dim", builder.getDenseI32ArrayAttr({blocks, 1, 1}));
}

void KernelBuilder::setMinBlocksPerSM(int blocks) {
  kernel->setAttr("nvvm.minctasm", builder.getI32IntegerAttr(blocks));
}

void KernelBuilder::clusterBarrier() {
  // barrier.cluster.arrive is .release and wait .acquire by default;
  // .aligned asks every thread of a warp to execute the same barrier
  // instruction, which the callers' block-uniform code does.
  NVVM::ClusterArriveOp::create(builder, builder.getUnitAttr());
  NVVM::ClusterWaitOp::create(builder, builder.getUnitAttr());
}

Value KernelBuilder::sharedInClusterBlock(Value sharedPtr, Value rank) {
  constexpr unsigned kSharedClusterAddressSpace = 7;
  return NVVM::MapaOp::create(
      builder, LLVM::LLVMPointerType::get(builder.getContext(), kSharedClusterAddressSpace),
      sharedPtr, rank);
}

Value KernelBuilder::load(Type element, Value ptr, Value index) {
  return LLVM::LoadOp::create(builder, element,
                              elementAddress(builder, element, ptr, index));
}

Value KernelBuilder::loadInvariant(Type element, Value ptr, Value index) {
  return LLVM::LoadOp::create(builder, builder.getUnknownLoc(), element,
                              elementAddress(builder, element, ptr, index), /*alignment=*/0,
                              /*isVolatile=*/false, /*isNonTemporal=*/false,
                              /*isInvariant=*/true);
}

void KernelBuilder::store(Value value, Value ptr, Value index) {
  LLVM::StoreOp::create(
      builder, value, elementAddress(builder, value.getType(), ptr, index));
}

SmallVector<Value> KernelBuilder::loadVector(Type element, int64_t width,
                                             Value ptr, Value index) {
  auto type = VectorType::get({width}, element);
  unsigned alignment = width * element.getIntOrFloatBitWidth() / 8;
  Value vector = LLVM::LoadOp::create(
      builder, type, elementAddress(builder, element, ptr, index), alignment);
  SmallVector<Value> elements;
  for (int64_t i = 0; i < width; ++i)
    elements.push_back(LLVM::ExtractElementOp::create(builder, vector, i32(i)));
  return elements;
}

void KernelBuilder::storeVector(ValueRange values, Value ptr, Value index) {
  Type element = values.front().getType();
  auto type = VectorType::get({static_cast<int64_t>(values.size())}, element);
  Value vector = LLVM::UndefOp::create(builder, type);
  for (auto [i, value] : llvm::enumerate(values))
    vector = LLVM::InsertElementOp::create(builder, vector, value,
                                           i32(static_cast<int64_t>(i)));
  unsigned alignment = values.size() * element.getIntOrFloatBitWidth() / 8;
  LLVM::StoreOp::create(builder, vector,
                        elementAddress(builder, element, ptr, index), alignment);
}

void KernelBuilder::forLoop(Value lb, Value ub, Value step,
                            const std::function<void(Value)> &body) {
  scf::ForOp::create(builder, lb, ub, step, ValueRange{},
                     [&](OpBuilder &nested, Location loc, Value iv,
                         ValueRange) {
                       OpBuilder::InsertionGuard guard(builder);
                       builder.setInsertionPoint(nested.getInsertionBlock(),
                                                 nested.getInsertionPoint());
                       body(iv);
                       scf::YieldOp::create(builder);
                     });
}

SmallVector<Value> KernelBuilder::forLoop(
    Value lb, Value ub, Value step, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  auto loop = scf::ForOp::create(
      builder, lb, ub, step, init,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange iter) {
        OpBuilder::InsertionGuard guard(builder);
        builder.setInsertionPoint(nested.getInsertionBlock(),
                                  nested.getInsertionPoint());
        SmallVector<Value> next = body(iv, iter);
        scf::YieldOp::create(builder, next);
      });
  return SmallVector<Value>(loop.getResults());
}

void KernelBuilder::ifThen(Value cond, const std::function<void()> &body) {
  auto op = scf::IfOp::create(builder, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&op.getThenRegion().front());
  body();
}

Value KernelBuilder::select(Value cond, Type type,
                            const std::function<Value()> &then,
                            const std::function<Value()> &otherwise) {
  auto op = scf::IfOp::create(builder, TypeRange{type}, cond,
                              /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&op.getThenRegion().front());
  scf::YieldOp::create(builder, then());
  builder.setInsertionPointToStart(&op.getElseRegion().front());
  scf::YieldOp::create(builder, otherwise());
  return op.getResult(0);
}

SmallVector<Value> KernelBuilder::ifOr(Value cond, ValueRange otherwise,
                                       const std::function<SmallVector<Value>()> &then) {
  auto op = scf::IfOp::create(builder, otherwise.getTypes(), cond, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&op.getThenRegion().front());
  scf::YieldOp::create(builder, then());
  builder.setInsertionPointToStart(&op.getElseRegion().front());
  scf::YieldOp::create(builder, otherwise);
  return SmallVector<Value>(op.getResults());
}

void KernelBuilder::awaitPredecessor() {
  assert(!kernel->hasAttr(kAwaitsInBodyAttr) && "a kernel awaits its predecessor once");
  NVVM::GriddepcontrolOp::create(builder, NVVM::GridDepActionKind::wait);
  NVVM::GriddepcontrolOp::create(builder, NVVM::GridDepActionKind::launch_dependents);
  kernel->setAttr(kAwaitsInBodyAttr, builder.getUnitAttr());
}

void KernelBuilder::finish() { gpu::ReturnOp::create(builder); }

} // namespace mlir::quamba::codegen
