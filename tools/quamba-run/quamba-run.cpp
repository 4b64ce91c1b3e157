//===- quamba-run.cpp - run a compiled model (model.qmb) ------------------===//
//
//   quamba-run model.qmb --prompt "The whale" [--max-tokens N] [--temperature T
//              --top-k K --top-p P --seed S] [--json]
//   quamba-run model.qmb --ppl text.txt [--window W --stride S] [--json]
//   quamba-run model.qmb --check-kernels [--batch B --seqlen L --seed S]
//   quamba-run model.qmb --compare-devices [--prompt TEXT --max-tokens N]
//   common: --device auto|cuda|cpu (auto: CUDA when a GPU is present)
//
// MLIR-free: links the runtime only. --check-kernels runs every launch of
// the plan on the GPU and on the CPU reference kernels with fresh random
// inputs; --compare-devices compares whole-model logits and greedy tokens.
//
//===----------------------------------------------------------------------===//
#include "runtime/Generation.h"
#include "runtime/exec/BackendCheck.h"
#include "runtime/exec/Session.h"
#include "runtime/tokenizer/BpeTokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

using namespace quamba;

namespace {

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "quamba-run: error: %s\n", message.c_str());
  std::exit(1);
}

template <typename T> T orDie(Result<T> value) {
  if (!value)
    die(value.error());
  return value.take();
}

const char *kUsage =
    "usage: quamba-run MODEL.qmb [--device auto|cuda|cpu] MODE\n"
    "modes:\n"
    "  --prompt TEXT [--max-tokens N=64] [--temperature T=0] [--top-k K=0] [--top-p P=1]\n"
    "                [--seed S=0]        generate a continuation (greedy by default)\n"
    "  --ppl FILE [--window W=1024] [--stride S]\n"
    "                                    perplexity and bits per byte of a text file\n"
    "  --check-kernels [--batch B=2] [--seqlen L=37] [--seed S]\n"
    "                                    every launch on CUDA vs the CPU reference kernels\n"
    "  --compare-devices [--prompt TEXT] [--max-tokens N=64]\n"
    "                                    logits and greedy tokens, CUDA vs CPU\n"
    "  --json                            print one JSON object\n"
    "  --tokenizer tokenizer.json        override the artifact's tokenizer\n";

struct Options {
  std::string model, device = "auto", prompt, ppl, tokenizer;
  bool hasPrompt = false, json = false, checkKernels = false, compareDevices = false;
  int64_t maxTokens = 64, window = 1024, stride = 0, topK = 0, batch = 2, seqlen = 37;
  float temperature = 0.0f, topP = 1.0f;
  uint64_t seed = 0;
};

template <typename Fn> auto parseNumber(const std::string &option, const std::string &text, Fn fn) {
  try {
    size_t used = 0;
    auto value = fn(text, &used);
    if (used == text.size())
      return value;
  } catch (...) {
  }
  die(option + ": '" + text + "' is not a number");
}

Options parse(int argc, char **argv) {
  Options o;
  std::map<std::string, std::string *> strings = {
      {"--device", &o.device}, {"--prompt", &o.prompt}, {"--ppl", &o.ppl},
      {"--tokenizer", &o.tokenizer}};
  std::map<std::string, int64_t *> ints = {
      {"--max-tokens", &o.maxTokens}, {"--window", &o.window}, {"--stride", &o.stride},
      {"--top-k", &o.topK},           {"--batch", &o.batch},   {"--seqlen", &o.seqlen}};
  auto toInt = [](const std::string &s, size_t *u) { return std::stoll(s, u); };
  auto toFloat = [](const std::string &s, size_t *u) { return std::stof(s, u); };
  auto toUnsigned = [](const std::string &s, size_t *u) { return std::stoull(s, u); };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (strings.count(arg)) {
      *strings[arg] = value();
      o.hasPrompt |= arg == "--prompt";
    } else if (ints.count(arg)) {
      *ints[arg] = parseNumber(arg, value(), toInt);
    } else if (arg == "--temperature") {
      o.temperature = parseNumber(arg, value(), toFloat);
    } else if (arg == "--top-p") {
      o.topP = parseNumber(arg, value(), toFloat);
    } else if (arg == "--seed") {
      o.seed = parseNumber(arg, value(), toUnsigned);
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--check-kernels") {
      o.checkKernels = true;
    } else if (arg == "--compare-devices") {
      o.compareDevices = true;
    } else if (!arg.empty() && arg[0] == '-') {
      die("unknown option " + arg + "\n" + kUsage);
    } else if (o.model.empty()) {
      o.model = arg;
    } else {
      die("more than one model given ('" + o.model + "', '" + arg + "')");
    }
  }
  if (o.model.empty())
    die(std::string("no model given\n") + kUsage);
  if (!o.hasPrompt && o.ppl.empty() && !o.checkKernels && !o.compareDevices)
    die("nothing to do: pass --prompt TEXT, --ppl FILE, --check-kernels or --compare-devices");
  if (o.maxTokens < 0)
    die("--max-tokens must be >= 0");
  if (o.device != "auto" && o.device != "cuda" && o.device != "cpu")
    die("--device must be auto, cuda or cpu, got '" + o.device + "'");
  if (o.batch < 1 || o.seqlen < 1)
    die("--batch and --seqlen must be >= 1");
  return o;
}

std::unique_ptr<Tokenizer> loadTokenizer(const Options &o, const plan::Artifact &artifact) {
  if (!o.tokenizer.empty())
    return orDie(loadTokenizerJson(o.tokenizer));
  if (!artifact.tokenizerJson().empty()) {
    auto bpe = BpeTokenizer::fromJson(artifact.tokenizerJson(), o.model + " (tokenizer)");
    if (!bpe)
      die(bpe.error());
    return std::unique_ptr<Tokenizer>(bpe.take());
  }
  if (artifact.vocabSize() != 256)
    die(o.model + ": a model with a " + std::to_string(artifact.vocabSize()) +
        "-entry vocabulary and no embedded tokenizer needs --tokenizer tokenizer.json");
  return std::make_unique<ByteTokenizer>();
}

std::unique_ptr<exec::Session> openSession(std::shared_ptr<const plan::Artifact> artifact,
                                           const std::string &device) {
  std::unique_ptr<exec::Backend> backend;
  if (device != "cpu") {
    Result<std::unique_ptr<exec::Backend>> cuda = exec::createCudaBackend(0);
    if (cuda)
      backend = cuda.take();
    else if (device == "cuda")
      die("--device cuda: " + cuda.error());
  }
  if (!backend)
    backend = exec::createCpuBackend();
  return orDie(exec::Session::create(std::move(artifact), std::move(backend)));
}

/// A session as a batch-1 LanguageModel.
class CompiledModel final : public LanguageModel {
public:
  explicit CompiledModel(exec::Session &session) : session(session) {}
  int64_t vocabSize() const override { return session.vocabSize(); }
  Result<std::vector<float>> prefill(const std::vector<int32_t> &tokens) override {
    return session.prefill(tokens, 1, static_cast<int64_t>(tokens.size()));
  }
  Result<std::vector<float>> decode(int32_t token) override { return session.decode({token}); }
  // The plan's argmax sampler covers the whole logits row: used when the
  // tokenizer allows every row (else the host picks within `allowed`).
  Result<int32_t> prefillGreedy(const std::vector<int32_t> &tokens, int64_t allowed) override {
    if (!onDevice(allowed))
      return LanguageModel::prefillGreedy(tokens, allowed);
    return first(session.prefillGreedy(tokens, 1, static_cast<int64_t>(tokens.size())));
  }
  Result<int32_t> decodeGreedy(int32_t token, int64_t allowed) override {
    if (!onDevice(allowed))
      return LanguageModel::decodeGreedy(token, allowed);
    return first(session.decodeGreedy({token}));
  }

private:
  /// Whether the plan's sampler applies (it covers the whole row; an
  /// artifact from before samplers has none).
  bool onDevice(int64_t allowed) const {
    const auto &plan = session.artifact().plan();
    return allowed >= vocabSize() && plan.entry("prefill")->sampler && plan.entry("decode")->sampler;
  }
  static Result<int32_t> first(Result<std::vector<int32_t>> tokens) {
    if (!tokens)
      return makeError(tokens.error());
    return (*tokens)[0];
  }
  exec::Session &session;
};

int checkKernels(const Options &o, std::shared_ptr<const plan::Artifact> artifact) {
  auto gpu = openSession(artifact, "cuda");
  auto cpu = openSession(artifact, "cpu");
  std::vector<exec::LaunchCheck> checks =
      exec::checkLaunches(*gpu, *cpu, o.batch, o.seqlen, o.seed);
  size_t failed = 0;
  std::printf("%-8s %4s  %-20s %-48s %-6s %10s %6s %6s  %s\n", "entry", "#", "op", "kernel",
              "check", "rel.err", "diff", "unwrt", "result");
  for (const exec::LaunchCheck &c : checks) {
    failed += !c.passed;
    std::printf("%-8s %4zu  %-20s %-48s %-6s %10.2e %6lld %6lld  %s %s\n", c.entry.c_str(),
                c.index, c.op.c_str(), c.kernel.c_str(), c.exact ? "exact" : "1e-3", c.relError,
                static_cast<long long>(c.mismatches), static_cast<long long>(c.unwritten),
                c.passed ? "ok" : "FAIL", c.error.c_str());
  }
  std::printf("%s: %zu launches (batch %lld, seqlen %lld) on %s vs cpu: %zu passed, %zu failed\n",
              o.model.c_str(), checks.size(), static_cast<long long>(o.batch),
              static_cast<long long>(o.seqlen), gpu->backend().name().c_str(),
              checks.size() - failed, failed);
  return failed ? 1 : 0;
}

int compareDevices(const Options &o, std::shared_ptr<const plan::Artifact> artifact,
                   const Tokenizer &tokenizer) {
  auto gpu = openSession(artifact, "cuda");
  auto cpu = openSession(artifact, "cpu");
  std::string prompt = o.hasPrompt ? o.prompt : "It is a truth universally acknowledged, that";
  std::vector<int32_t> ids = tokenizer.encode(prompt);
  if (ids.empty())
    die("--prompt is empty");
  exec::ModelComparison cmp = orDie(exec::compareModels(*gpu, *cpu, ids, o.maxTokens));
  size_t agree = 0;
  while (agree < cmp.candidateTokens.size() &&
         cmp.candidateTokens[agree] == cmp.referenceTokens[agree])
    ++agree;
  std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"prompt_tokens\": %zu, "
              "\"prefill_max_abs\": %.3e, \"decode_max_abs\": %.3e, \"greedy_tokens\": %zu, "
              "\"tokens_agree\": %zu, \"same_tokens\": %s}\n",
              o.model.c_str(), gpu->backend().name().c_str(), ids.size(), cmp.prefillMaxAbs,
              cmp.decodeMaxAbs, cmp.candidateTokens.size(), agree,
              cmp.sameTokens() ? "true" : "false");
  return cmp.sameTokens() ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  Options o = parse(argc, argv);
  std::shared_ptr<const plan::Artifact> artifact = orDie(plan::Artifact::open(o.model));
  if (o.checkKernels)
    return checkKernels(o, artifact);
  std::unique_ptr<Tokenizer> tokenizer = loadTokenizer(o, *artifact);
  if (o.compareDevices)
    return compareDevices(o, artifact, *tokenizer);

  std::unique_ptr<exec::Session> session = openSession(artifact, o.device);
  std::fprintf(stderr, "[quamba-run: %s on %s]\n", o.model.c_str(),
               session->backend().name().c_str());
  CompiledModel model(*session);
  if (!o.ppl.empty()) {
    std::ifstream in(o.ppl, std::ios::binary);
    if (!in)
      die(o.ppl + ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    PerplexityReport report =
        orDie(perplexity(model, *tokenizer, text.str(), o.ppl, {o.window, o.stride}));
    std::printf("%s\n", (o.json ? report.toJson() : report.toText()).c_str());
    return 0;
  }
  GenerateOptions options{o.prompt, o.maxTokens, {o.temperature, o.topK, o.topP, o.seed}};
  if (!o.json) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  std::function<void(const std::string &)> stream;
  if (!o.json)
    stream = [](const std::string &text) {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    };
  GenerateReport report = orDie(generate(model, *tokenizer, options, stream));
  if (o.json) {
    std::printf("%s\n", report.toJson().c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr, "[prefill %lld tokens: %.1f tok/s; decode %zu tokens: %.1f tok/s]\n",
                 static_cast<long long>(report.promptTokens), report.prefillTokensPerSecond,
                 report.tokens.size(), report.decodeTokensPerSecond);
  }
  return 0;
}
