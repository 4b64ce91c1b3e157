//===- quamba-interpret.cpp - run mamba IR on the CPU interpreter ---------===//
//
//   quamba-interpret MODEL --prompt "The whale" [--max-tokens N] [--temperature T
//              --top-k K --top-p P --seed S]
//   quamba-interpret MODEL --ppl text.txt [--window W --stride S] [--json]
//
// MODEL is a checkpoint directory or mamba IR (.mlir / .mlirbc), run op by op
// on the CPU through the IR interpreter (the reference kernels): the compiler
// engineer's view of what a pass did. Compiled models (model.qmb) run with
// quamba-run, on the GPU or the CPU.
//
//===----------------------------------------------------------------------===//
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
#include "runtime/Generation.h"
#include "runtime/Logits.h"
#include "runtime/Progress.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "runtime/tokenizer/Unicode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <malloc.h>
#include <cmath>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("quamba-interpret options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<checkpoint dir | model.mlir | model.mlirbc>"), cl::cat(category));
static cl::opt<std::string> prompt("prompt", cl::desc("Generate a continuation of this text"), cl::cat(category));
static cl::opt<int64_t> maxTokens("max-tokens", cl::init(64),
                                  cl::desc("Tokens to generate (default 64)"), cl::cat(category));
static cl::opt<float> temperature("temperature", cl::init(0.0f),
                                  cl::desc("Sampling temperature; 0 = greedy (default)"), cl::cat(category));
static cl::opt<int64_t> topK("top-k", cl::init(0), cl::desc("Keep the k most likely tokens (0 = all)"), cl::cat(category));
static cl::opt<float> topP("top-p", cl::init(1.0f), cl::desc("Nucleus sampling mass (1 = off)"), cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::init(0), cl::desc("Sampling seed"), cl::cat(category));
static cl::opt<std::string> pplFile("ppl", cl::desc("Report perplexity and bits per byte of this text file"), cl::cat(category));
static cl::opt<int64_t> window("window", cl::init(1024),
                               cl::desc("--ppl: tokens per window (default 1024)"), cl::cat(category));
static cl::opt<int64_t> stride("stride", cl::init(0),
                               cl::desc("--ppl: window stride (default: the window, no overlap)"), cl::cat(category));
static cl::opt<std::string> tokenizerPath(
    "tokenizer", cl::desc("tokenizer.json to use (default: the checkpoint's; byte-level for a 256-entry vocabulary)"), cl::cat(category));
static cl::opt<bool> jsonOutput("json", cl::desc("Print one JSON object on stdout"), cl::cat(category));

namespace {

[[noreturn]] void die(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "quamba-interpret") << message << "\n";
  std::exit(1);
}

template <typename T> T orDie(llvm::Expected<T> value) {
  if (!value)
    die(llvm::toString(value.takeError()));
  return std::move(*value);
}

template <typename T> T orDie(::quamba::Result<T> value) {
  if (!value)
    die(value.error());
  return value.take();
}

OwningOpRef<ModuleOp> loadModel(MLIRContext &context) {
  if (llvm::sys::fs::is_directory(modelPath))
    return orDie(mamba::importCheckpoint(context, modelPath));
  context.loadDialect<mamba::MambaDialect, func::FuncDialect, arith::ArithDialect>();
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(modelPath, &context);
  if (!module)
    die(modelPath + ": cannot parse the model IR");
  return module;
}

std::unique_ptr<::quamba::Tokenizer> loadTokenizer(int64_t modelVocab) {
  if (!tokenizerPath.empty())
    return orDie(::quamba::loadTokenizerJson(tokenizerPath));
  std::string dir = llvm::sys::fs::is_directory(modelPath) ? modelPath.getValue() : "";
  if (dir.empty() && modelVocab != 256)
    die(modelPath + ": a model with a " + std::to_string(modelVocab) +
        "-entry vocabulary needs --tokenizer tokenizer.json");
  return orDie(::quamba::loadTokenizer(dir, modelVocab));
}

/// The interpreter as a batch-1 LanguageModel: states travel between calls
/// as the functions' extra results and arguments.
class InterpretedModel final : public ::quamba::LanguageModel {
public:
  InterpretedModel(mlir::quamba::Interpreter &interp, int64_t vocab)
      : interp(interp), vocab(vocab) {}
  int64_t vocabSize() const override { return vocab; }

  ::quamba::Result<std::vector<float>> prefill(const std::vector<int32_t> &ids) override {
    auto results = interp.run(
        "prefill", {mlir::quamba::HostTensor::tokens({1, static_cast<int64_t>(ids.size())}, ids)});
    return keep(std::move(results));
  }
  ::quamba::Result<std::vector<float>> decode(int32_t token) override {
    std::vector<mlir::quamba::HostTensor> args = {mlir::quamba::HostTensor::tokens({1, 1}, {token})};
    args.insert(args.end(), std::make_move_iterator(states.begin()),
                std::make_move_iterator(states.end()));
    return keep(interp.run("decode", std::move(args)));
  }

private:
  ::quamba::Result<std::vector<float>>
  keep(llvm::Expected<std::vector<mlir::quamba::HostTensor>> results) {
    if (!results)
      return ::quamba::makeError(llvm::toString(results.takeError()));
    states.assign(std::make_move_iterator(results->begin() + 1),
                  std::make_move_iterator(results->end()));
    return std::move((*results)[0].values);
  }
  mlir::quamba::Interpreter &interp;
  int64_t vocab;
  std::vector<mlir::quamba::HostTensor> states;
};

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // The interpreter allocates activations of megabytes per op; glibc would
  // mmap and unmap each one, and the page faults cost as much as the math.
  // Keep freed memory for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "quamba-interpret: run a Mamba checkpoint or mamba IR on the CPU interpreter\n");
  if (prompt.getNumOccurrences() == 0 && pplFile.empty())
    die("nothing to do: pass --prompt TEXT or --ppl FILE");
  if (maxTokens < 0)
    die("--max-tokens must be >= 0");

  MLIRContext context;
  OwningOpRef<ModuleOp> module = loadModel(context);
  auto config = dyn_cast_or_null<mamba::ModelConfigAttr>(
      (*module)->getAttr(mamba::MambaDialect::getConfigAttrName()));
  if (!config)
    die(modelPath + ": not a mamba model (no mamba.config attribute)");
  int64_t vocab = config.getVocabSize();
  std::unique_ptr<::quamba::Tokenizer> tokenizer = loadTokenizer(vocab);
  mlir::quamba::Interpreter interp(*module);
  InterpretedModel model(interp, vocab);
  if (!pplFile.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(pplFile);
    if (!buffer)
      die(pplFile + ": " + buffer.getError().message());
    ::quamba::PerplexityReport report = orDie(::quamba::perplexity(
        model, *tokenizer, (*buffer)->getBuffer().str(), pplFile, {window, stride}));
    llvm::outs() << (jsonOutput ? report.toJson() : report.toText()) << "\n";
    return 0;
  }
  ::quamba::GenerateOptions options{prompt, maxTokens, {temperature, topK, topP, seed}};
  if (!jsonOutput)
    llvm::outs() << prompt;
  ::quamba::GenerateReport report = orDie(::quamba::generate(
      model, *tokenizer, options, jsonOutput ? std::function<void(const std::string &)>()
                                             : [](const std::string &text) {
                                                 llvm::outs() << text;
                                                 llvm::outs().flush();
                                               }));
  if (jsonOutput) {
    llvm::outs() << report.toJson() << "\n";
  } else {
    llvm::outs() << "\n";
    llvm::errs() << llvm::format("[prefill %lld tokens: %.1f tok/s; decode %zu tokens: %.1f tok/s]\n",
                                 static_cast<long long>(report.promptTokens),
                                 report.prefillTokensPerSecond, report.tokens.size(),
                                 report.decodeTokensPerSecond);
  }
  return 0;
}
