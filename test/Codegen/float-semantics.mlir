// The float kernels reproduce the reference's fp32 semantics
// (runtime/reference/FloatSemantics.h): no approximate instruction (ex2, lg2,
// rsqrt, rcp, sqrt or div .approx), no flush-to-zero and no fma contraction
// anywhere in the norms, convolutions, scans, Hadamard transforms and the
// random sampler, on either target.
// RUN: for f in norm conv scan hadamard sampler; do \
// RUN:   quamba-opt %S/$f-kernels.mlir -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx; \
// RUN:   quamba-opt %S/$f-kernels.mlir -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80; \
// RUN: done | FileCheck %s
// CHECK: .visible .entry
// CHECK-NOT: {{\.approx|\.ftz|fma\.rn}}
