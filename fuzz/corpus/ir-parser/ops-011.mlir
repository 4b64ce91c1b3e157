func.func @quantize_dequantize_scales(%x: tensor<?x?x64xf32>, %y: tensor<2x16x128xbf16>, %y_scales: tensor<128xf32>,
    %conv_state: tensor<?x192x4xf32>, %conv_scales: tensor<192x1xf32>,
    %ssm_state: tensor<?x8x16x16xf32>, %ssm_scales: tensor<8x16x16xf32>)
    -> (tensor<?x?x64xf32>, tensor<2x16x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
  %x_scale = arith.constant dense<0.25> : tensor<1xf32>
  %xq = mamba.quantize %x, scales(%x_scale) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
  %yq = mamba.quantize %y, scales(%y_scales) : (tensor<2x16x128xbf16>, tensor<128xf32>) -> tensor<2x16x128xi8>
  %cq = mamba.quantize %conv_state, scales(%conv_scales) : (tensor<?x192x4xf32>, tensor<192x1xf32>) -> tensor<?x192x4xi8>
  %sq = mamba.quantize %ssm_state, scales(%ssm_scales) : (tensor<?x8x16x16xf32>, tensor<8x16x16xf32>) -> tensor<?x8x16x16xi8>
  %xd = mamba.dequantize %xq, scales(%x_scale) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xf32>
  %yd = mamba.dequantize %yq, scales(%y_scales) : (tensor<2x16x128xi8>, tensor<128xf32>) -> tensor<2x16x128xf32>
  %cd = mamba.dequantize %cq, scales(%conv_scales) : (tensor<?x192x4xi8>, tensor<192x1xf32>) -> tensor<?x192x4xf32>
  %sd = mamba.dequantize %sq, scales(%ssm_scales) : (tensor<?x8x16x16xi8>, tensor<8x16x16xf32>) -> tensor<?x8x16x16xf32>
  return %xd, %yd, %cd, %sd : tensor<?x?x64xf32>, tensor<2x16x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
}
