//===- quamba-run.cpp - generate text and measure perplexity --------------===//
//
//   quamba-run MODEL --prompt "The whale" [--max-tokens N] [--temperature T
//              --top-k K --top-p P --seed S]
//   quamba-run MODEL --ppl text.txt [--window W --stride S] [--json]
//
// MODEL is a checkpoint directory or mamba IR (.mlir / .mlirbc). It runs on
// the CPU through the IR interpreter (the reference kernels); the model.qmb
// runtime with its CUDA backend replaces this path when it lands.
//
//===----------------------------------------------------------------------===//
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
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

#include <chrono>
#include <malloc.h>
#include <cmath>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("quamba-run options");
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
  llvm::WithColor::error(llvm::errs(), "quamba-run") << message << "\n";
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

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

mlir::quamba::HostTensor tokensTensor(const std::vector<int32_t> &ids,
                                      int64_t batch, int64_t len) {
  return mlir::quamba::HostTensor::tokens({batch, len}, ids);
}

int generate(mlir::quamba::Interpreter &interp, ::quamba::Tokenizer &tokenizer,
             int64_t vocab) {
  std::vector<int32_t> ids = tokenizer.encode(prompt);
  if (ids.empty())
    die("--prompt is empty: give the model at least one token to continue");
  int64_t allowed = std::min<int64_t>(vocab, tokenizer.vocabSize());
  ::quamba::Sampler sampler({temperature, topK, topP, seed}, allowed);

  auto start = std::chrono::steady_clock::now();
  auto results = orDie(interp.run("prefill", {tokensTensor(ids, 1, ids.size())}));
  double prefillSeconds = secondsSince(start);
  std::vector<float> last(results[0].values.end() - vocab, results[0].values.end());

  if (!jsonOutput) {
    llvm::outs() << prompt;
    llvm::outs().flush();
  }
  std::vector<int32_t> generated;
  std::string pending;
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < maxTokens; ++i) {
    int32_t next = sampler.sample(last.data(), vocab);
    generated.push_back(next);
    if (!jsonOutput) {
      tokenizer.appendBytes(next, pending);
      size_t ready = ::quamba::unicode::completeUtf8Prefix(pending);
      llvm::outs() << pending.substr(0, ready);
      llvm::outs().flush();
      pending.erase(0, ready);
    }
    if (i + 1 == maxTokens)
      break;
    std::vector<mlir::quamba::HostTensor> args = {tokensTensor({next}, 1, 1)};
    args.insert(args.end(), std::make_move_iterator(results.begin() + 1),
                std::make_move_iterator(results.end()));
    results = orDie(interp.run("decode", std::move(args)));
    last.assign(results[0].values.end() - vocab, results[0].values.end());
  }
  double decodeSeconds = secondsSince(start);
  double prefillRate = ids.size() / prefillSeconds;
  double decodeRate = generated.size() > 1 ? (generated.size() - 1) / decodeSeconds : 0.0;
  if (jsonOutput) {
    llvm::json::Object out{{"prompt_tokens", static_cast<int64_t>(ids.size())},
                           {"generated_tokens", static_cast<int64_t>(generated.size())},
                           {"text", tokenizer.decode(generated)},
                           {"prefill_tokens_per_s", prefillRate},
                           {"decode_tokens_per_s", decodeRate}};
    llvm::outs() << llvm::json::Value(std::move(out)) << "\n";
  } else {
    llvm::outs() << pending << "\n";
    llvm::errs() << llvm::format("[prefill %zu tokens: %.1f tok/s; decode %zu tokens: %.1f tok/s]\n",
                                 ids.size(), prefillRate, generated.size(), decodeRate);
  }
  return 0;
}

int perplexity(mlir::quamba::Interpreter &interp, ::quamba::Tokenizer &tokenizer,
               int64_t vocab) {
  auto buffer = llvm::MemoryBuffer::getFile(pplFile);
  if (!buffer)
    die(pplFile + ": " + buffer.getError().message());
  std::vector<int32_t> ids = tokenizer.encode((*buffer)->getBuffer());
  const int64_t n = ids.size();
  if (n < 2)
    die(pplFile + ": needs at least 2 tokens to measure perplexity, has " + std::to_string(n));
  if (window < 2)
    die("--window must be at least 2");
  const int64_t step = stride > 0 ? stride.getValue() : window.getValue();
  if (step > window)
    die("--stride must not exceed --window");
  int64_t allowed = std::min<int64_t>(vocab, tokenizer.vocabSize());

  // Window k covers [k*step, k*step + window); it scores the tokens no
  // earlier window scored, each given at least one token of context.
  double nll = 0.0;
  int64_t scored = 0, bytes = 0, nextTarget = 1;
  ::quamba::ProgressBar progress("ppl", n - 1, "tok");
  auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; nextTarget < n; begin += step) {
    int64_t end = std::min(begin + window.getValue(), n);
    std::vector<int32_t> chunk(ids.begin() + begin, ids.begin() + end);
    auto results = orDie(interp.run("prefill", {tokensTensor(chunk, 1, chunk.size())}));
    const std::vector<float> &logits = results[0].values;
    for (int64_t t = std::max(nextTarget, begin + 1); t < end; ++t) {
      nll += ::quamba::negativeLogLikelihood(&logits[(t - 1 - begin) * vocab], allowed, ids[t]);
      std::string piece;
      tokenizer.appendBytes(ids[t], piece);
      bytes += piece.size();
      ++scored;
    }
    nextTarget = std::max(nextTarget, end);
    progress.update(nextTarget - 1);
    if (end == n)
      break;
  }
  progress.finish();
  double seconds = secondsSince(start);
  double perToken = nll / scored;
  double bitsPerByte = nll / std::log(2.0) / bytes;
  if (jsonOutput) {
    llvm::json::Object out{{"tokens", scored},
                           {"bytes", bytes},
                           {"nll_per_token", perToken},
                           {"perplexity", std::exp(perToken)},
                           {"bits_per_byte", bitsPerByte},
                           {"window", window.getValue()},
                           {"stride", step},
                           {"tokens_per_s", scored / seconds}};
    llvm::outs() << llvm::json::Value(std::move(out)) << "\n";
  } else {
    llvm::outs() << llvm::format("tokens %lld  nll/token %.4f  perplexity %.3f  bits/byte %.4f\n",
                                 static_cast<long long>(scored), perToken, std::exp(perToken),
                                 bitsPerByte);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // The interpreter allocates activations of megabytes per op; glibc would
  // mmap and unmap each one, and the page faults cost as much as the math.
  // Keep freed memory for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "quamba-run: run a Mamba model (CPU interpreter)\n");
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
  if (!pplFile.empty())
    return perplexity(interp, *tokenizer, vocab);
  return generate(interp, *tokenizer, vocab);
}
