//===- KernelBuilder.h - build a Triton-ABI gpu.func -----------*- C++ -*-===//
//
// Every generated kernel is one `gpu.module @<name>` holding one
// `gpu.func @<name> kernel` with Triton's NVIDIA kernel ABI (DESIGN.md §5,
// reference/mlir-gpu.md B.3): the visible arguments (global pointers, then
// i32 scalars), then the two hidden scratch pointers (global_scratch,
// profile_scratch) that Triton's launcher appends; one-dimensional blocks of
// 32 * num_warps threads. Pointers are `!llvm.ptr<1>` (global address
// space), so the PTX parameters are `.u64 .ptr .global` exactly as Triton's.
//
// KernelBuilder gives kernel authors the handful of constructs the
// kernels need (thread indices, typed loads and stores, loops, branches)
// on top of an ImplicitLocOpBuilder; anything else is plain MLIR.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::quamba::codegen {

/// The kind of one visible kernel argument, with its Triton signature name.
enum class ArgKind { PtrF32, PtrF16, PtrI8, PtrU8, PtrI32, I32 };
const char *tritonSignature(ArgKind kind);

/// The bytes of dynamic shared memory `func` needs at launch (0: none).
int64_t dynamicSharedBytes(gpu::GPUFuncOp func);

class KernelBuilder {
public:
  /// Creates `gpu.module @name { gpu.func @name(...) kernel }` at the end of
  /// `container` (which becomes a gpu.container_module) and positions the
  /// builder in the function's body. `numWarps` fixes the block size
  /// (known_block_size = 32 * numWarps).
  KernelBuilder(ModuleOp container, StringRef name, ArrayRef<ArgKind> args,
                int numWarps);

  ImplicitLocOpBuilder &b() { return builder; }
  gpu::GPUFuncOp func() { return kernel; }
  int blockSize() const { return 32 * warps; }

  /// Visible argument `i` (a pointer or an i32).
  Value arg(unsigned i) { return kernel.getArgument(i); }
  /// Scalar argument `i` as an index.
  Value argIndex(unsigned i);

  Value threadIdx();
  Value blockIdx(gpu::Dimension dim = gpu::Dimension::x);
  /// blockIdx.x * blockSize + threadIdx.x.
  Value globalIdx();

  Value idx(int64_t value);
  Value i32(int64_t value);
  Value f32(float value);

  /// A static array of `count` elements of `element` in the block's shared
  /// memory (a `.shared` global named `name` in this kernel's module), as an
  /// !llvm.ptr<3> that load/store index like any pointer.
  Value sharedArray(StringRef name, Type element, int64_t count);
  /// The block's dynamic shared memory (`extern .shared` bytes), `bytes`
  /// long: recorded on the kernel (dynamicSharedBytes), which the plan's
  /// kernel list and its launches carry, so the runtime passes the size at
  /// launch (and raises the kernel's limit past 48 KiB). At most once a
  /// kernel. `alignment`: of its start (wgmma's swizzled tiles need 1024).
  Value dynamicShared(int64_t bytes, int64_t alignment = 16);
  /// A constant array of i64 `values` in the module's constant memory
  /// (`.const`, address space 4), as an !llvm.ptr<4> that load indexes:
  /// tables too irregular to compute, read through the constant cache.
  Value constantTable(StringRef name, ArrayRef<int64_t> values);
  /// ptr + count elements of `element` (a view into an array, e.g. two
  /// slices sharing one shared-memory array).
  Value offsetPointer(Type element, Value ptr, int64_t count);
  /// __syncthreads(): every thread of the block must reach it.
  void barrier();

  /// Launches the kernel in clusters of `blocks` consecutive blocks along x
  /// (PTX `.reqnctapercluster`, sm_90): the grid's x must be a multiple.
  void setClusterSize(int blocks);
  /// Asks ptxas for registers that let `blocks` blocks share an SM (PTX
  /// `.minnctapersm`): occupancy for a kernel that would otherwise take
  /// more registers than it gains from.
  void setMinBlocksPerSM(int blocks);
  /// barrier.cluster.arrive.release + wait.acquire: every thread of every
  /// block of the cluster must reach it; the shared memory each block
  /// wrote before it is visible to the whole cluster after it.
  void clusterBarrier();
  /// The address of `sharedPtr` (an !llvm.ptr<3> into this block's shared
  /// memory) in the shared memory of cluster block `rank` (an i32): an
  /// !llvm.ptr<7> (shared::cluster) that load reads with ld.shared::cluster.
  Value sharedInClusterBlock(Value sharedPtr, Value rank);

  /// ptr[index] of `element` type (an index value, elements not bytes).
  Value load(Type element, Value ptr, Value index);
  void store(Value value, Value ptr, Value index);
  /// ptr[index] of memory nothing writes while the kernel runs (weights,
  /// scales): LLVM's !invariant.load, so the load may move above the
  /// kernel's stores (which may alias it as far as LLVM knows) and issue
  /// early instead of a round trip after each store.
  Value loadInvariant(Type element, Value ptr, Value index);
  /// ptr[index .. index + width) as one vector load (alignment width *
  /// element size: the caller guarantees it), split into its elements.
  SmallVector<Value> loadVector(Type element, int64_t width, Value ptr,
                                Value index);
  /// values stored to ptr[index ..] as one vector store (aligned as above).
  void storeVector(ValueRange values, Value ptr, Value index);

  /// for (iv = lb; iv < ub; iv += step) body(iv).
  void forLoop(Value lb, Value ub, Value step,
               const std::function<void(Value)> &body);
  /// A loop carrying values: body(iv, iter) returns the next iter values.
  SmallVector<Value>
  forLoop(Value lb, Value ub, Value step, ValueRange init,
          const std::function<SmallVector<Value>(Value, ValueRange)> &body);
  void ifThen(Value cond, const std::function<void()> &body);
  /// if (cond) then() else otherwise(), each yielding one value of `type`.
  Value select(Value cond, Type type, const std::function<Value()> &then,
               const std::function<Value()> &otherwise);

  /// if (cond) then() else `otherwise`: values of otherwise's types.
  SmallVector<Value> ifOr(Value cond, ValueRange otherwise,
                          const std::function<SmallVector<Value>()> &then);

  /// Where the kernel waits for its predecessor grid (sm_90's
  /// `griddepcontrol.wait`, then `launch_dependents`), here instead of at
  /// the entry: everything before it may read only weights (buffers no
  /// launch writes), so a kernel launched with programmatic stream
  /// serialization fetches them while the previous kernel still runs.
  /// Marks the function (kAwaitsInBodyAttr); on targets without
  /// programmatic launch, LaunchPlan removes the two ops again. At most once
  /// a kernel.
  void awaitPredecessor();
  static constexpr const char *kAwaitsInBodyAttr = "quamba.awaits_in_body";

  /// Ends the body with gpu.return.
  void finish();

private:
  ImplicitLocOpBuilder builder;
  gpu::GPUModuleOp module;
  gpu::GPUFuncOp kernel;
  int warps;
};

} // namespace mlir::quamba::codegen
