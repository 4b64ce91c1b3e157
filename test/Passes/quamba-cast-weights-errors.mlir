// RUN: quamba-opt %s -split-input-file --quamba-cast-weights -verify-diagnostics
// RUN: not quamba-opt %s -split-input-file --quamba-cast-weights=type=f8 2>&1 | FileCheck %s --check-prefix=TYPE

// TYPE: quamba-cast-weights: type must be f16 or bf16, got 'f8'

// A finite weight beyond f16's range is an error, not an infinity.
module {
  func.func @prefill(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> {
    %w = arith.constant dense_resource<big> : tensor<2x2xf32>
    // expected-error @+1 {{'mamba.linear' op weight 'big' holds 7.000000e+04, beyond the f16 range (65504); cast to bf16 instead}}
    %h = mamba.linear %x, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %h : tensor<?x?x2xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      big: "0x040000000000803F0000803F00B888470000803F"
    }
  }
#-}

// -----

// A weight that is not a resource constant cannot be cast.
module {
  func.func @prefill(%x: tensor<?x?x2xf32>, %w: tensor<2x2xf32>) -> tensor<?x?x2xf32> {
    // expected-error @+1 {{'mamba.linear' op weight is not a dense_resource constant}}
    %h = mamba.linear %x, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %h : tensor<?x?x2xf32>
  }
}
