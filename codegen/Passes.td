//===- Passes.td - codegen passes --------------------------*- tablegen -*-===//
#ifndef QUAMBA_CODEGEN_PASSES_TD
#define QUAMBA_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuambaConvertMambaToGpu : Pass<"quamba-convert-mamba-to-gpu", "ModuleOp"> {
  let summary = "Lower @prefill/@decode to Triton-ABI gpu.func kernels and a launch plan";
  let description = [{
    Builds the launch plan (runtime/plan/Plan.h) of the model: one launch per
    mamba op of `@prefill` and `@decode`, in program order, each naming a
    kernel specialised on the op's static shapes and attributes. Every
    distinct kernel is appended to the module as `gpu.module @<kernel>`
    holding one `gpu.func @<kernel> kernel` with Triton's ABI (visible
    pointer and i32 arguments, then two hidden scratch pointers; 32·num_warps
    threads per block, recorded as `known_block_size`). The plan's JSON is
    attached as the module attribute `mamba.launch_plan`; the functions are
    left in place.

    Guarantee: each launch computes exactly the function its op's reference
    kernel defines (runtime/plan/LaunchOps.h): bit-exact for quantize,
    dequantize and the integer accumulations, within fp32 rounding of a
    different summation order for floating-point reductions. Launch-level
    fusions keep that guarantee, each the composition of the launches it
    replaces (LaunchOps.h): a split as its producer's split epilogue,
    quantize -> dequantize pairs as requantized output parts, an int8 state's
    dequantize/quantize inside the step op, a quantize (and a Hadamard) after
    a norm in the norm's launch, and in @decode a causal_conv1d_step whose x
    only a linear's output part feeds as that linear's conv-step epilogue
    (the GEMV for batches below 16; larger batches keep both launches).
    Graph-level fusion is quamba-fuse's job. The pass needs every scale of
    quantize/dequantize to be a constant and every dynamic dimension to be
    the batch (dim 0) or the sequence (dim 1).

    On sm_90a every kernel begins with `nvvm.griddepcontrol wait` then
    `launch_dependents`, before any memory access, and is marked
    `awaits_predecessor` in the plan: the runtime may launch it with
    programmatic stream serialization (its blocks are scheduled while the
    previous kernel drains; results are unchanged). The exception: a kernel
    whose weights are weight buffers (written by no launch) loads them first
    and waits after (kernel name `_pw`: decode GEMVs, norms, ssd_step), so
    they stream in during the previous kernel; decode's ssd_step loads its
    state there too (`_pws`: an input of the entry, which no launch writes,
    and every launch before the previous one has completed by then).
    On sm_90a, @decode's one-group gated norm + Hadamard + quantize (mamba2
    before out_proj) runs for batches below 16 over a cluster of 8 blocks
    sharing their shared memory (`_cluster8`), bit-identical to the
    one-block kernel. On sm_90a, @prefill's W8A8 and W4A8 linears with K a
    multiple of 128 are warpgroup GEMMs (`_wgmma`: `nvvm.wgmma.mma_async` on
    128-byte-swizzled shared tiles; exact int32 sums, like the mma.sync
    kernels other K and sm_80 get). @prefill's chunked SSD scan sums its
    products with `math.fma`, as its reference does (std::fma), on register
    tiles a thread (`ssd_chunk_scan` at `.minnctapersm 5`, 96 registers).
    Lower the kernels with the same chip as
    `target`: sm_80 has no griddepcontrol, no clusters and no wgmma.

    Lower the result to PTX with
    `gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},
    convert-nvvm-to-llvm), gpu-module-to-binary{format=isa}` after attaching
    an `#nvvm.target`
    (quamba-compile does this with Triton's settings, codegen/NvptxTarget.h).
  }];
  let options = [
    Option<"target", "target", "std::string", "\"sm_90a\"",
           "GPU architecture recorded in the plan (sm_80 or sm_90a)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect", "::mlir::math::MathDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::vector::VectorDialect"];
}

#endif // QUAMBA_CODEGEN_PASSES_TD
