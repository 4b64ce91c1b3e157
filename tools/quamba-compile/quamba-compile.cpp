//===- quamba-compile.cpp - checkpoint -> quantized model -----------------===//
//
//   quamba-compile CKPT --mode w4a8 --calib calib.txt -o model.qmb [--target sm_90a]
//   quamba-compile CKPT --mode w4a8 --calib calib.txt -o model.mlirbc
//
// Imports a checkpoint (or reads imported IR), runs the named Quamba2
// pipeline of the mode (passes/Pipelines.h; --mode fp32 quantizes nothing,
// --mode fp16 only rounds the weight matrices to f16: quamba-cast-weights)
// and writes either the compiled model (an output ending in .qmb: launch
// plan, PTX/cubin kernels and weights, codegen/ArtifactWriter.h) or the
// quantized IR as bytecode (any other name). The output is written to a
// temporary file and renamed into place: a failed or killed compile never
// leaves a partial file (safetensors::writeFileAtomically). The same inputs
// and options give a byte-identical output.
//
//===----------------------------------------------------------------------===//
#include "codegen/ArtifactWriter.h"
#include "codegen/LaunchPlan.h"
#include "codegen/NvptxTarget.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "passes/WeightRewrite.h"
#include "tools/WriteModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace cl = llvm::cl;
namespace codegen = mlir::quamba::codegen;
using namespace mlir;

static cl::OptionCategory category("quamba-compile options");
static cl::opt<std::string>
    input(cl::Positional, cl::Required,
          cl::desc("<checkpoint directory | model.mlir | model.mlirbc>"),
          cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("Output quantized IR (bytecode)"),
                                       cl::value_desc("path"), cl::cat(category));
static cl::opt<std::string> mode("mode", cl::Required,
                                 cl::desc("fp32 (no quantization), fp16 (f16 weights, fp32 activations), w8a8, w4a8, w4a16 or w4ax"),
                                 cl::cat(category));
static cl::opt<bool> noWeights(
    "no-weights",
    cl::desc("Write model.qmb without its weights (plan and kernels only): quamba-run "
             "--bench / --check-kernels run it on random weights, for speed measurements "
             "of models too big to move"),
    cl::cat(category));
static cl::opt<bool> kernelReport("kernel-report",
                                  cl::desc("Print each kernel's ptxas resource report (registers, spills)"),
                                  cl::cat(category));
static cl::opt<std::string> targetChip("target", cl::init("sm_90a"),
                                       cl::desc("GPU architecture of model.qmb: sm_90a (default) or sm_80"),
                                       cl::cat(category));
static cl::opt<std::string> calib("calib",
                                  cl::desc("Calibration text (required except "
                                           "for w4a16 with --no-gptq)"),
                                  cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t> samples("samples", cl::desc("Calibration windows"),
                                cl::init(32), cl::cat(category));
static cl::opt<int64_t> seqlen("seqlen", cl::desc("Tokens per window"),
                               cl::init(512), cl::cat(category));
static cl::opt<std::string>
    tokenizerPath("tokenizer",
                  cl::desc("tokenizer.json (default: the checkpoint's; "
                           "bytes for a 256-entry vocabulary)"),
                  cl::cat(category));
static cl::opt<int64_t> groupSize("group-size",
                                  cl::desc("4-bit weight group along K"),
                                  cl::init(128), cl::cat(category));
static cl::opt<bool> noGptq("no-gptq",
                            cl::desc("4-bit modes: round-to-nearest weights"),
                            cl::init(false), cl::cat(category));
static cl::list<int64_t>
    a16Layers("a16-layers", cl::CommaSeparated,
              cl::desc("w4ax: layers kept at 16-bit activations (i,j,...)"),
              cl::cat(category));
static cl::opt<std::string>
    layersConfig("layers-config",
                 cl::desc("w4ax: JSON array of per-layer modes"),
                 cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> autoSelect(
    "auto",
    cl::desc("w4ax: choose the W4A16 layers by measured sensitivity "
             "(the default when neither --a16-layers nor --layers-config)"),
    cl::init(false), cl::cat(category));
static cl::opt<int64_t>
    budget("a16-budget",
           cl::desc("w4ax --auto: number of W4A16 layers (-1: a quarter)"),
           cl::init(-1), cl::cat(category));

namespace {

[[noreturn]] void die(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "quamba-compile") << message << "\n";
  std::exit(1);
}

/// One line per pass on stderr, with its time: the passes' own progress
/// bars show the long ones.
struct StageLog : PassInstrumentation {
  int64_t index = 0, total;
  std::chrono::steady_clock::time_point start;
  explicit StageLog(int64_t total) : total(total) {}
  void runBeforePass(Pass *pass, Operation *) override {
    start = std::chrono::steady_clock::now();
    llvm::errs() << "[" << ++index << "/" << total << "] "
                 << pass->getArgument() << "\n";
  }
  void runAfterPass(Pass *pass, Operation *) override {
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    llvm::errs() << "      " << pass->getArgument() << " done in "
                 << llvm::format("%.1f", seconds) << " s\n";
  }
};

/// quamba-compile's context holds one module, so after each pass the weights
/// it superseded can go (releaseUnreferencedWeights): without this, every
/// weight-rewriting pass kept another copy of the model alive.
struct ReleaseSupersededWeights : PassInstrumentation {
  void runAfterPass(Pass *, Operation *op) override {
    if (auto module = dyn_cast<ModuleOp>(op))
      if (size_t freed = mlir::quamba::releaseUnreferencedWeights(module))
        llvm::errs() << "      released " << llvm::format("%.1f", freed / 1048576.0)
                     << " MiB of superseded weights\n";
  }
};

/// Codegen: the launch plan and kernels of `module`, PTX (and cubin when
/// ptxas is present) for --target, written as one model.qmb.
void writeCompiledModel(MLIRContext &context, ModuleOp module, const std::string &tokenizer) {
  auto start = std::chrono::steady_clock::now();
  llvm::errs() << "[codegen] kernels and launch plan for " << targetChip << "\n";
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(UnknownLoc::get(&context));
  FailureOr<codegen::LaunchPlanResult> plan =
      codegen::buildLaunchPlan(module, *kernels, targetChip);
  if (failed(plan))
    die("codegen failed (see the errors above)");
  codegen::NvptxOptions nvptx;
  nvptx.chip = targetChip;
  FailureOr<std::vector<codegen::CompiledKernel>> compiled =
      codegen::compileKernels(*kernels, nvptx);
  if (failed(compiled))
    die("kernel compilation failed (see the errors above)");
  size_t cubins = 0;
  for (const codegen::CompiledKernel &k : *compiled) {
    cubins += !k.cubin.empty();
    if (kernelReport)
      llvm::errs() << "kernel " << k.name << ":\n" << k.ptxasReport;
  }

  codegen::ArtifactInfo info;
  auto config = module->getAttrOfType<mamba::ModelConfigAttr>(
      mamba::MambaDialect::getConfigAttrName());
  if (!config)
    die(input + ": not a mamba model (no mamba.config attribute)");
  info.vocabSize = config.getVocabSize();
  std::string configText;
  llvm::raw_string_ostream(configText) << config;
  info.modelConfigJson = llvm::formatv("{{\"mlir\": {0}}", llvm::json::Value(configText)).str();
  if (!tokenizer.empty()) {
    auto text = llvm::MemoryBuffer::getFile(tokenizer);
    if (!text)
      die(tokenizer + ": " + text.getError().message());
    info.tokenizerJson = (*text)->getBuffer().str();
  }
  llvm::json::Object compileOptions{{"mode", mode.getValue()},
                                    {"target", targetChip.getValue()},
                                    {"calib", llvm::sys::path::filename(calib).str()},
                                    {"samples", samples.getValue()},
                                    {"seqlen", seqlen.getValue()},
                                    {"group_size", groupSize.getValue()},
                                    {"gptq", !noGptq},
                                    {"weights", noWeights ? "omitted" : "stored"}};
  llvm::raw_string_ostream(info.compileOptionsJson = "")
      << llvm::json::Value(std::move(compileOptions));
  info.omitWeights = noWeights;
  if (::quamba::Status s = codegen::writeArtifact(outputPath, *plan, *compiled, info); !s)
    die(s.error());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  llvm::errs() << "      " << compiled->size() << " kernels (" << cubins << " cubins), "
               << plan->plan.entry("prefill")->launches.size() << " prefill + "
               << plan->plan.entry("decode")->launches.size() << " decode launches in "
               << llvm::format("%.1f", seconds) << " s -> " << outputPath << "\n";
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "quamba-compile: quantize a Mamba checkpoint with Quamba2 (W8A8, W4A8, "
      "W4A16, W4AX)\n");

  if (!codegen::isSupportedChip(targetChip))
    die("--target must be sm_90a or sm_80, got '" + targetChip + "'");
  const bool floatOnly = mode == "fp32" || mode == "fp16";
  mlir::quamba::QuantMode quantMode = mlir::quamba::QuantMode::W8A8;
  if (floatOnly)
    ;
  else if (mode == "w8a8")
    quantMode = mlir::quamba::QuantMode::W8A8;
  else if (mode == "w4a8")
    quantMode = mlir::quamba::QuantMode::W4A8;
  else if (mode == "w4a16")
    quantMode = mlir::quamba::QuantMode::W4A16;
  else if (mode == "w4ax")
    quantMode = mlir::quamba::QuantMode::W4AX;
  else
    die("--mode must be fp32, fp16, w8a8, w4a8, w4a16 or w4ax, got '" + mode + "'");
  bool layerList = !a16Layers.empty() || !layersConfig.empty();
  if (quantMode != mlir::quamba::QuantMode::W4AX &&
      (layerList || autoSelect || budget != -1))
    die("--a16-layers, --layers-config, --auto and --a16-budget apply to "
        "--mode w4ax only");
  if (autoSelect && layerList)
    die("--auto chooses the layers: drop --a16-layers / --layers-config");
  bool needsData = !floatOnly && (quantMode != mlir::quamba::QuantMode::W4A16 || !noGptq);
  if (needsData && calib.empty())
    die("--calib <text file> is required for --mode " + mode +
        (quantMode == mlir::quamba::QuantMode::W4A16 ? " with GPTQ" : ""));
  if (!calib.empty() && !llvm::sys::fs::exists(calib))
    die("--calib '" + calib + "': no such file");

  DialectRegistry registry;
  registry.insert<mamba::MambaDialect, arith::ArithDialect,
                  func::FuncDialect>();
  MLIRContext context(registry);
  // Print every diagnostic, remarks included (quamba-select-w4ax reports
  // its measurements as one).
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module;
  std::string tokenizer = tokenizerPath;
  if (llvm::sys::fs::is_directory(input)) {
    auto imported = mamba::importCheckpoint(context, input);
    if (!imported)
      die(llvm::toString(imported.takeError()));
    module = std::move(*imported);
    llvm::SmallString<256> candidate(input);
    llvm::sys::path::append(candidate, "tokenizer.json");
    if (tokenizer.empty() && llvm::sys::fs::exists(candidate))
      tokenizer = std::string(candidate);
  } else {
    module = parseSourceFile<ModuleOp>(input, &context);
    if (!module)
      die(input + ": cannot parse the model IR");
  }

  mlir::quamba::QuambaPipelineOptions options;
  options.data = calib;
  options.tokenizer = tokenizer;
  options.samples = samples;
  options.seqlen = seqlen;
  options.groupSize = groupSize;
  options.gptq = !noGptq;
  options.a16Layers = a16Layers;
  options.layersConfig = layersConfig;
  options.budget = budget;

  PassManager pm(&context);
  if (!floatOnly)
    mlir::quamba::buildQuambaPipeline(pm, quantMode, options);
  if (mode == "fp16")
    pm.addPass(mlir::quamba::createQuambaCastWeights({/*type=*/"f16"}));
  // After-pass hooks run in reverse order: the log line, then the release.
  pm.addInstrumentation(std::make_unique<ReleaseSupersededWeights>());
  pm.addInstrumentation(std::make_unique<StageLog>(pm.size()));
  if (failed(pm.run(*module)))
    die("the " + mode + " pipeline failed (see the errors above)");

  if (llvm::StringRef(outputPath).ends_with(".qmb")) {
    writeCompiledModel(context, *module, tokenizer);
    return 0;
  }

  if (::quamba::Status s = ::quamba::tools::writeModule(*module, outputPath, /*bytecode=*/true);
      !s)
    die(s.error());
  return 0;
}
