// The float kernels reproduce the reference's fp32 semantics
// (runtime/reference/FloatSemantics.h): no approximate instruction (ex2, lg2,
// rsqrt, rcp, sqrt or div .approx) and no flush-to-zero anywhere in the
// norms, convolutions, scans, Hadamard transforms and the random sampler, on
// either target; no fma except the chunked SSD kernels' products, where the
// reference has std::fma (each kernel is one line of quamba-opt's output:
// the grep drops those three).
// RUN: for f in norm conv scan hadamard sampler; do \
// RUN:   quamba-opt %S/$f-kernels.mlir -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx; \
// RUN:   quamba-opt %S/$f-kernels.mlir -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80; \
// RUN: done > %t
// RUN: FileCheck %s < %t
// RUN: grep -v -E 'gpu.binary @ssd_chunk_(state|cb|scan)_' %t | FileCheck %s --check-prefix=NOFMA
// CHECK: .visible .entry
// CHECK-NOT: {{\.approx|\.ftz}}
// NOFMA: .visible .entry
// NOFMA-NOT: fma.rn
