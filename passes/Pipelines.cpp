//===- Pipelines.cpp - the named Quamba2 pipelines ------------------------===//
#include "passes/Pipelines.h"

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::quamba;

void mlir::quamba::buildQuambaPipeline(OpPassManager &pm, QuantMode mode,
                                       const QuambaPipelineOptions &options) {
  bool int8Activations = mode != QuantMode::W4A16;
  auto calibrate = [&] {
    QuambaCalibrateOptions calibration;
    calibration.data = options.data;
    calibration.tokenizer = options.tokenizer;
    calibration.samples = options.samples;
    calibration.seqlen = options.seqlen;
    pm.addPass(createQuambaCalibrate(calibration));
  };

  pm.addPass(createQuambaFuseNormGains());
  if (int8Activations) {
    // sort-cluster needs the x channel statistics and must run before
    // rotate; rotate changes the residual-stream activations, so the scales
    // are calibrated again after it.
    calibrate();
    pm.addPass(createQuambaSortCluster());
  }
  pm.addPass(createQuambaRotate());
  if (int8Activations)
    calibrate();
  if (mode != QuantMode::W8A8 && options.gptq) {
    QuambaGptqOptions gptq;
    gptq.data = options.data;
    gptq.tokenizer = options.tokenizer;
    gptq.samples = options.samples;
    gptq.seqlen = options.seqlen;
    gptq.groupSize = options.groupSize;
    pm.addPass(createQuambaGptq(gptq));
  }
  if (mode == QuantMode::W4AX && options.a16Layers.empty() &&
      options.layersConfig.empty()) {
    QuambaSelectW4AXOptions select;
    select.data = options.data;
    select.tokenizer = options.tokenizer;
    // The search evaluates n_layer + 1 quantized copies: a quarter of the
    // calibration windows is enough to rank the layers.
    select.samples = std::max<int64_t>(1, options.samples / 4);
    select.seqlen = options.seqlen;
    select.budget = options.budget;
    select.groupSize = options.groupSize;
    pm.addPass(createQuambaSelectW4AX(select));
  }
  QuambaQuantizeOptions quantize;
  switch (mode) {
  case QuantMode::W8A8:
    quantize.mode = "w8a8";
    break;
  case QuantMode::W4A8:
    quantize.mode = "w4a8";
    break;
  case QuantMode::W4A16:
    quantize.mode = "w4a16";
    break;
  case QuantMode::W4AX:
    quantize.mode = "w4ax";
    quantize.a16Layers.assign(options.a16Layers.begin(),
                              options.a16Layers.end());
    quantize.layersConfig = options.layersConfig;
    break;
  }
  quantize.groupSize = options.groupSize;
  pm.addPass(createQuambaQuantize(quantize));
}

void mlir::quamba::registerQuambaPipelines() {
  struct Entry {
    const char *name, *description;
    QuantMode mode;
  };
  static const Entry entries[] = {
      {"quamba-w8a8",
       "Quamba2 W8A8: rotation, sort-and-cluster, int8 weights and "
       "activations",
       QuantMode::W8A8},
      {"quamba-w4a8",
       "Quamba2 W4A8: rotation, sort-and-cluster, GPTQ 4-bit weights, int8 "
       "activations",
       QuantMode::W4A8},
      {"quamba-w4a16",
       "Quamba2 W4A16: rotation, GPTQ 4-bit weights, float activations",
       QuantMode::W4A16},
      {"quamba-w4ax",
       "Quamba2 W4AX: W4A8 with some layers at W4A16 (a16-layers, "
       "layers-config, or searched under a budget)",
       QuantMode::W4AX},
  };
  for (const Entry &entry : entries) {
    QuantMode mode = entry.mode;
    PassPipelineRegistration<QuambaPipelineOptions>(
        entry.name, entry.description,
        [mode](OpPassManager &pm, const QuambaPipelineOptions &options) {
          buildQuambaPipeline(pm, mode, options);
        });
  }
}
