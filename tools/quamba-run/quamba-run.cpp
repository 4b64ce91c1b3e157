//===- quamba-run.cpp - run a compiled model (model.qmb) ------------------===//
//
//   quamba-run model.qmb --prompt "The whale" [--max-tokens N] [--temperature T
//              --top-k K --top-p P --seed S] [--json]
//   quamba-run model.qmb --ppl text.txt [--window W --stride S] [--json]
//   quamba-run model.qmb --check-kernels [--batch B --seqlen L --seed S]
//   quamba-run model.qmb --compare-devices [--prompt TEXT --max-tokens N]
//   quamba-run model.qmb --bench [--batch 1,16,64 --prompt-len 1024 --max-tokens 128 --reps 5]
//   quamba-run model.qmb --drift reference.qmb --text FILE [--steps N --window W --trace F]
//   common: --device auto|cuda|cpu (auto: CUDA when a GPU is present)
//
// MLIR-free: links the runtime only. --check-kernels runs every launch of
// the plan on the GPU and on the CPU reference kernels with fresh random
// inputs; --compare-devices compares whole-model logits and greedy tokens.
//
//===----------------------------------------------------------------------===//
#include "runtime/Drift.h"
#include "runtime/Generation.h"
#include "runtime/Progress.h"
#include "runtime/Safetensors.h"
#include "runtime/exec/BackendCheck.h"
#include "runtime/exec/Session.h"
#include "runtime/tokenizer/BpeTokenizer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

void orDie(const Status &status) {
  if (!status)
    die(status.error());
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
    "  --bench [--batch 1,16] [--prompt-len 1024] [--max-tokens 128] [--reps 5]\n"
    "                                    TTFT and TPOT (greedy, random prompts), medians, JSON\n"
    "  --drift REF.qmb|prefill --text FILE [--steps N=1024] [--window W=1024] [--trace OUT.tsv]\n"
    "                                    logits drift from REF (or from the model's own\n"
    "                                    prefill path) over N teacher-forced decode steps\n"
    "                                    on FILE's tokens (JSON; per step: --trace)\n"
    "  --json                            print one JSON object\n"
    "  --tokenizer tokenizer.json        override the artifact's tokenizer\n";

struct Options {
  std::string model, device = "auto", prompt, ppl, tokenizer, drift, text, trace;
  bool hasPrompt = false, json = false, checkKernels = false, compareDevices = false,
       bench = false;
  int64_t maxTokens = 64, window = 1024, stride = 0, topK = 0, batch = 2, seqlen = 37,
          promptLen = 1024, reps = 5, steps = 1024;
  std::vector<int64_t> batches = {1};
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
      {"--tokenizer", &o.tokenizer}, {"--drift", &o.drift}, {"--text", &o.text},
      {"--trace", &o.trace}};
  std::map<std::string, int64_t *> ints = {
      {"--max-tokens", &o.maxTokens}, {"--window", &o.window}, {"--stride", &o.stride},
      {"--top-k", &o.topK},           {"--seqlen", &o.seqlen}, {"--prompt-len", &o.promptLen},
      {"--reps", &o.reps},            {"--steps", &o.steps}};
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
    } else if (arg == "--batch") {
      // One size (--check-kernels) or a list (--bench).
      o.batches.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');)
        o.batches.push_back(parseNumber(arg, item, toInt));
      if (o.batches.empty())
        die("--batch needs at least one size");
      o.batch = o.batches.front();
    } else if (arg == "--bench") {
      o.bench = true;
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
  if (!o.hasPrompt && o.ppl.empty() && !o.checkKernels && !o.compareDevices && !o.bench &&
      o.drift.empty())
    die("nothing to do: pass --prompt TEXT, --ppl FILE, --bench, --drift REF.qmb, "
        "--check-kernels or --compare-devices");
  if (!o.drift.empty() && o.text.empty())
    die("--drift needs --text FILE (the tokens both models read)");
  if (o.steps < 1 || o.window < 1)
    die("--steps and --window must be >= 1");
  for (int64_t b : o.batches)
    if (b < 1)
      die("--batch sizes must be >= 1");
  if (o.promptLen < 1 || o.reps < 1)
    die("--prompt-len and --reps must be >= 1");
  if (o.maxTokens < 0)
    die("--max-tokens must be >= 0");
  if (o.device != "auto" && o.device != "cuda" && o.device != "cpu")
    die("--device must be auto, cuda or cpu, got '" + o.device + "'");
  if (o.batch < 1 || o.seqlen < 1)
    die("--batch and --seqlen must be >= 1");
  // Checked before --bench or --check-kernels build B x L tokens: one
  // session call takes at most Session::kMaxTokens.
  auto checkTokens = [](const char *lengthOption, int64_t batch, int64_t length) {
    int64_t tokens = 0;
    if (__builtin_mul_overflow(batch, length, &tokens) || tokens > exec::Session::kMaxTokens)
      die("--batch " + std::to_string(batch) + " x " + lengthOption + " " +
          std::to_string(length) + " is more than the " +
          std::to_string(exec::Session::kMaxTokens) + " tokens one call can take");
  };
  if (o.bench)
    for (int64_t b : o.batches)
      checkTokens("--prompt-len", b, o.promptLen);
  if (o.checkKernels)
    checkTokens("--seqlen", o.batch, o.seqlen);
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
  Result<std::vector<int32_t>> decodeGreedySteps(int32_t token, int64_t steps,
                                                 int64_t allowed) override {
    if (!onDevice(allowed))
      return LanguageModel::decodeGreedySteps(token, steps, allowed);
    return session.decodeGreedySteps({token}, steps);
  }
  // The random sampler honours `allowed` itself (a params word).
  Result<int32_t> prefillSample(const std::vector<int32_t> &tokens,
                                const ref::SampleParams &params) override {
    if (!session.artifact().plan().entry("prefill")->randomSampler)
      return LanguageModel::prefillSample(tokens, params);
    return first(session.prefillSample(tokens, 1, static_cast<int64_t>(tokens.size()), params));
  }
  Result<int32_t> decodeSample(int32_t token, const ref::SampleParams &params) override {
    if (!session.artifact().plan().entry("decode")->randomSampler)
      return LanguageModel::decodeSample(token, params);
    return first(session.decodeSample({token}, params));
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Bytes per second of a device-to-device copy of 512 MiB (read + write),
/// the median of 5 after a warm-up: the bandwidth the roofline divides by,
/// measured in the same run as the model.
double copyBandwidth(exec::Backend &backend) {
  const size_t bytes = size_t(512) << 20;
  void *a = orDie(backend.allocate(bytes)), *b = orDie(backend.allocate(bytes));
  orDie(backend.fill(a, 1, bytes));
  std::vector<double> rates;
  for (int rep = 0; rep <= 5; ++rep) {
    auto start = std::chrono::steady_clock::now();
    orDie(backend.copy(b, a, bytes));
    orDie(backend.synchronize());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rep > 0)
      rates.push_back(2.0 * static_cast<double>(bytes) / s);
  }
  backend.release(a);
  backend.release(b);
  return median(rates);
}

/// TTFT (prefill of --prompt-len tokens per sequence, to the first greedy
/// token on the host) and TPOT (each further greedy token: the steps run on
/// the device back to back, Session::decodeGreedySteps, as the peer's
/// graphed decode loop does; and, as tpot_host_round_trip_ms, the same
/// number of steps with the host waiting for each token), per batch size:
/// one warm-up run, then --reps runs on fresh random prompts; medians.
/// Host clocks around calls that end synchronized (the tokens are copied
/// back), as METHOD.md allows. With them: the weight bytes and the peak bytes
/// the session held on the device, the bytes a decode step must move, the
/// copy bandwidth measured here and the roofline TPOT they give.
int bench(const Options &o, std::shared_ptr<const plan::Artifact> artifact) {
  auto session = openSession(artifact, o.device);
  const double bandwidth = copyBandwidth(session->backend());
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(artifact->vocabSize() - 1));
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  for (int64_t batch : o.batches) {
    std::vector<double> ttft, tpot, tpotSync;
    for (int64_t rep = 0; rep <= o.reps; ++rep) {
      std::vector<int32_t> prompt(static_cast<size_t>(batch * o.promptLen));
      for (int32_t &t : prompt)
        t = token(rng);
      auto start = clock::now();
      std::vector<int32_t> next = orDie(session->prefillGreedy(prompt, batch, o.promptLen));
      auto first = clock::now();
      const int64_t steps = o.maxTokens - 1;
      if (steps > 0)
        next = orDie(session->decodeGreedySteps(next, steps));
      auto end = clock::now();
      // The same steps with a host round trip each (upload the token, wait,
      // download the next), continuing from the states reached.
      next.erase(next.begin(), next.end() - batch);
      for (int64_t i = 0; i < steps; ++i)
        next = orDie(session->decodeGreedy(next));
      auto endSync = clock::now();
      if (rep == 0)
        continue; // warm-up: module load, allocation, graph capture
      ttft.push_back(seconds(start, first));
      if (steps > 0) {
        tpot.push_back(seconds(first, end) / static_cast<double>(steps));
        tpotSync.push_back(seconds(end, endSync) / static_cast<double>(steps));
      }
    }
    double t0 = median(ttft), t1 = tpot.empty() ? 0.0 : median(tpot),
           t1Sync = tpotSync.empty() ? 0.0 : median(tpotSync);
    double stepBytes = static_cast<double>(session->decodeStepBytes(batch));
    double roofline = stepBytes / bandwidth;
    std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"batch\": %lld, \"prompt_len\": %lld, "
                "\"new_tokens\": %lld, \"reps\": %lld, \"ttft_ms\": %.3f, \"tpot_ms\": %.4f, "
                "\"tpot_host_round_trip_ms\": %.4f, "
                "\"prefill_tokens_per_s\": %.0f, \"decode_tokens_per_s\": %.0f, "
                "\"weight_bytes\": %zu, \"peak_device_bytes\": %zu, \"decode_step_bytes\": %.0f, "
                "\"copy_bandwidth_gbs\": %.1f, \"roofline_tpot_ms\": %.4f, \"roofline_fraction\": %.4f}\n",
                o.model.c_str(), session->backend().name().c_str(), static_cast<long long>(batch),
                static_cast<long long>(o.promptLen), static_cast<long long>(o.maxTokens),
                static_cast<long long>(o.reps), 1e3 * t0, 1e3 * t1, 1e3 * t1Sync,
                static_cast<double>(batch * o.promptLen) / t0,
                t1 > 0 ? static_cast<double>(batch) / t1 : 0.0, session->weightBytes(),
                session->peakBytes(), stepBytes, bandwidth / 1e9, 1e3 * roofline,
                t1 > 0 ? roofline / t1 : 0.0);
  }
  return 0;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The model's logits drift from --drift's reference over --steps
/// teacher-forced decode steps (runtime/Drift.h), both on --device.
int drift(const Options &o, std::shared_ptr<const plan::Artifact> artifact,
          const Tokenizer &tokenizer) {
  auto session = openSession(artifact, o.device);
  CompiledModel model(*session);
  std::vector<int32_t> tokens = tokenizer.encode(readFile(o.text));
  // --drift prefill: the model's own prefill path (in a session of its
  // own: the replay's prefill must not move the decode path's states).
  std::unique_ptr<exec::Session> refSession;
  std::unique_ptr<CompiledModel> refModel;
  std::unique_ptr<LanguageModel> reference;
  if (o.drift == "prefill") {
    refSession = openSession(artifact, o.device);
    refModel = std::make_unique<CompiledModel>(*refSession);
    reference = prefillReplay(*refModel, tokens, o.steps);
  } else {
    std::shared_ptr<const plan::Artifact> refArtifact = orDie(plan::Artifact::open(o.drift));
    if (!refArtifact->hasWeights())
      die(o.drift + " was compiled without its weights: it cannot be a reference");
    refSession = openSession(refArtifact, o.device);
    reference = std::make_unique<CompiledModel>(*refSession);
  }
  ProgressBar progress("drift", o.steps, "step");
  DriftReport report = orDie(measureDrift(
      model, *reference, tokens, tokenizer.vocabSize(), {o.steps, o.window}, {o.model, o.drift},
      [&](int64_t step) { progress.update(step); }));
  progress.finish();
  if (!o.trace.empty())
    orDie(safetensors::writeFileAtomically(o.trace, report.toTsv()));
  nlohmann::json out = nlohmann::json::parse(report.toJson());
  out["model"] = o.model;
  out["reference"] = o.drift;
  out["text"] = o.text;
  out["device"] = session->backend().name();
  std::printf("%s\n", out.dump().c_str());
  return 0;
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
  if (o.bench)
    return bench(o, artifact);
  // Random weights are drawn per buffer, the same on both devices: a
  // comparison of the two needs no real ones.
  if (o.compareDevices)
    return compareDevices(o, artifact, *loadTokenizer(o, *artifact));
  if (!artifact->hasWeights())
    die(o.model + " was compiled without its weights (quamba-compile --no-weights): it runs "
                  "random weights, for --bench, --check-kernels and --compare-devices only");
  std::unique_ptr<Tokenizer> tokenizer = loadTokenizer(o, *artifact);
  if (!o.drift.empty())
    return drift(o, artifact, *tokenizer);

  std::unique_ptr<exec::Session> session = openSession(artifact, o.device);
  std::fprintf(stderr, "[quamba-run: %s on %s]\n", o.model.c_str(),
               session->backend().name().c_str());
  CompiledModel model(*session);
  if (!o.ppl.empty()) {
    PerplexityReport report =
        orDie(perplexity(model, *tokenizer, readFile(o.ppl), o.ppl, {o.window, o.stride}));
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
