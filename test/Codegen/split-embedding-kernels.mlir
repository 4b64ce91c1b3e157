// quamba-convert-mamba-to-gpu: split, embedding and quantized_embedding
// become one-thread-per-element kernels (128 threads a block), specialised
// on the split sizes, and on V, D and bits.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX

// split: x, out_0, out_1, out_2, then rows; one thread per element of x.
// CHECK: mamba.launch_plan
// CHECK-SAME: \22op\22:\22split\22,\22kernel\22:\22split_w328_s128_192_8\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{\22sizes\22:[128.0,192.0,8.0]},\22grid\22:[\22cdiv(B*L*328,128)\22,1,1]
// CHECK-LABEL: gpu.module @split_w328_s128_192_8
// CHECK: gpu.func @split_w328_s128_192_8(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// PTX-LABEL: .visible .entry split_w328_s128_192_8(
// PTX: ld.global.b32
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x328xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>) {
    %a, %b, %c = mamba.split %x [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
    return %a, %b, %c : tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x328xf32>) -> tensor<?x1x328xf32> {
    return %x : tensor<?x1x328xf32>
  }
}

// -----

// embedding: table, tokens, out, then count = B * L tokens; one thread per
// output element; an id outside [0, 256) reads row 0 and writes 0.
// CHECK: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22embedding_v256_d64\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{},\22grid\22:[\22cdiv(B*L*64,128)\22,1,1]
// CHECK-SAME: \22kernel\22:\22embedding_v256_d64\22
// CHECK-SAME: \22scalars\22:[\22B\22],\22attrs\22:{},\22grid\22:[\22cdiv(B*64,128)\22,1,1]
// CHECK-LABEL: gpu.module @embedding_v256_d64
// CHECK: gpu.func @embedding_v256_d64(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*i32", "*fp32", "i32"]
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> i32
// CHECK: arith.cmpi ult
// CHECK: arith.select
// PTX-LABEL: .visible .entry embedding_v256_d64(
// PTX: ld.global.b32
// PTX: ld.global.b32
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
    %table = arith.constant dense<0.5> : tensor<256x64xf32>
    %e = mamba.embedding %table[%t] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    return %e : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>) -> tensor<?x1x64xf32> {
    %table = arith.constant dense<0.5> : tensor<256x64xf32>
    %e = mamba.embedding %table[%t] : (tensor<256x64xf32>, tensor<?x1xi32>) -> tensor<?x1x64xf32>
    return %e : tensor<?x1x64xf32>
  }
}

// -----

// quantized_embedding, 8-bit: table, scales, tokens, out, then count;
// float(v) * scales[id].
// CHECK: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22quantized_embedding_b8_v256_d64\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{\22bits\22:[8.0]},\22grid\22:[\22cdiv(B*L*64,128)\22,1,1]
// CHECK-LABEL: gpu.module @quantized_embedding_b8_v256_d64
// CHECK: gpu.func @quantized_embedding_b8_v256_d64(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*i8", "*fp32", "*i32", "*fp32", "i32"]
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.sitofp
// CHECK: arith.mulf
// PTX-LABEL: .visible .entry quantized_embedding_b8_v256_d64(
// PTX: ld.global.s8
// PTX: cvt.rn.f32.s16
// PTX: mul.rn.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
    %table = arith.constant dense<3> : tensor<256x64xi8>
    %s = arith.constant dense<0.5> : tensor<256xf32>
    %e = mamba.quantized_embedding %table scales(%s) [%t] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    return %e : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>) -> tensor<?x1xi32> {
    return %t : tensor<?x1xi32>
  }
}

// -----

// quantized_embedding, 4-bit: byte d / 2 of the row, the high nibble for odd
// d, the code minus 8.
// CHECK: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22quantized_embedding_b4_v256_d64\22
// CHECK-SAME: \22attrs\22:{\22bits\22:[4.0]}
// CHECK-LABEL: gpu.module @quantized_embedding_b4_v256_d64
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK: arith.subi
// CHECK: arith.sitofp
// PTX-LABEL: .visible .entry quantized_embedding_b4_v256_d64(
// PTX: ld.global.b8
// PTX: shr.u32
// PTX: cvt.rn.f32.s32
module {
  func.func @prefill(%t: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
    %table = arith.constant dense<-121> : tensor<256x32xi8>
    %s = arith.constant dense<0.5> : tensor<256xf32>
    %e = mamba.quantized_embedding %table scales(%s) [%t] {bits = 4 : i64} : (tensor<256x32xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    return %e : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>) -> tensor<?x1xi32> {
    return %t : tensor<?x1xi32>
  }
}

// -----

// embedding of an f16 table (--mode fp16): the table buffer stays f16, each
// element is widened exactly on load.
// CHECK: mamba.launch_plan
// CHECK-SAME: \22dtype\22:\22f16\22,\22kind\22:\22weight\22,\22shape\22:[256,64]
// CHECK-LABEL: gpu.module @embedding_v256_d64_f16
// CHECK: gpu.func @embedding_v256_d64_f16(
// CHECK-SAME: quamba.signature = ["*fp16", "*i32", "*fp32", "i32"]
// CHECK: %[[V:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f16
// CHECK: arith.extf %[[V]] : f16 to f32
// PTX-LABEL: .visible .entry embedding_v256_d64_f16(
// PTX: ld.global.b16
// PTX: cvt.f32.f16
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
    %table = arith.constant dense<0.5> : tensor<256x64xf16>
    %e = mamba.embedding %table[%t] : (tensor<256x64xf16>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    return %e : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>) -> tensor<?x1x64xf32> {
    %table = arith.constant dense<0.5> : tensor<256x64xf16>
    %e = mamba.embedding %table[%t] : (tensor<256x64xf16>, tensor<?x1xi32>) -> tensor<?x1x64xf32>
    return %e : tensor<?x1x64xf32>
  }
}
