//===- quamba-random-checkpoint.cpp - real shapes, random weights ---------===//
//
//   quamba-random-checkpoint --shape mamba2-2.7b -o ckpt/ [--dtype f16] [--seed 0]
//   quamba-random-checkpoint --arch mamba2 --d-model 256 --layers 2 --vocab 512 -o ckpt/
//
// Writes a transformers-format checkpoint (config.json and safetensors shards
// with model.safetensors.index.json) with the exact tensor shapes of a public
// model (shared/reference/formats.md §3.3) and weights drawn as the model's
// own initialisation draws them (mamba_ssm / transformers), so that speed and
// compile-cost measurements need no download:
//   projections  U(-1/sqrt(fan_in), 1/sqrt(fan_in))   (nn.Linear's default)
//   out_proj     the same / sqrt(n_layer)             (rescale_prenorm_residual)
//   embedding    N(0, 0.02)
//   conv1d       U(-1/sqrt(K), 1/sqrt(K)), bias likewise
//   dt bias      softplus^-1(dt), dt = exp(U(log 0.001, log 0.1)) >= 1e-4
//   A_log        log U(1, 16) per head (Mamba2); log n (S4D real, Mamba1)
//   dt_proj      U(-R^-1/2, R^-1/2) (Mamba1); D and norm gains ones.
// The same options and seed give the same bytes. Shards are written one at a
// time, each atomically, the index last: an interrupted run leaves no
// index pointing at a missing shard.
//
//===----------------------------------------------------------------------===//
#include "runtime/Float16.h"
#include "runtime/Progress.h"
#include "runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace st = quamba::safetensors;
using Json = nlohmann::ordered_json;

namespace {

[[noreturn]] void die(const std::string &message) {
  std::cerr << "quamba-random-checkpoint: error: " << message << "\n";
  std::exit(1);
}

struct Shape {
  std::string arch; // "mamba" or "mamba2"
  int64_t d = 0, layers = 0, vocab = 0;
  int64_t state = 0, groups = 1, headdim = 64, chunk = 256, conv = 4, expand = 2;
  bool tied = true;
};

/// formats.md §3.3.
const std::map<std::string, Shape> &presets() {
  static const std::map<std::string, Shape> table = [] {
    std::map<std::string, Shape> t;
    auto m1 = [&](const char *name, int64_t d, int64_t layers) {
      t[name] = Shape{"mamba", d, layers, 50280, 16};
    };
    auto m2 = [&](const char *name, int64_t d, int64_t layers) {
      t[name] = Shape{"mamba2", d, layers, 50288, 128};
    };
    m1("mamba-130m", 768, 24);
    m1("mamba-370m", 1024, 48);
    m1("mamba-790m", 1536, 48);
    m1("mamba-1.4b", 2048, 48);
    m1("mamba-2.8b", 2560, 64);
    m2("mamba2-130m", 768, 24);
    m2("mamba2-370m", 1024, 48);
    m2("mamba2-780m", 1536, 48);
    m2("mamba2-1.3b", 2048, 48);
    m2("mamba2-2.7b", 2560, 64);
    Shape big{"mamba2", 4096, 56, 256000, 128};
    big.groups = 8;
    big.chunk = 128;
    big.tied = false;
    t["mamba2-8b"] = big;
    return t;
  }();
  return table;
}

/// One tensor to write: its name, shape and how to draw element i.
struct Tensor {
  std::string name;
  std::vector<uint64_t> shape;
  bool keepF32 = false; // A_log, D, dt_bias: fp32 in every checkpoint dtype
  std::function<void(std::mt19937_64 &, std::vector<float> &)> fill;
  uint64_t numel() const {
    uint64_t n = 1;
    for (uint64_t d : shape)
      n *= d;
    return n;
  }
};

auto uniform(float bound) {
  return [bound](std::mt19937_64 &rng, std::vector<float> &v) {
    std::uniform_real_distribution<float> dist(-bound, bound);
    for (float &x : v)
      x = dist(rng);
  };
}
auto normal(float stddev) {
  return [stddev](std::mt19937_64 &rng, std::vector<float> &v) {
    std::normal_distribution<float> dist(0.0f, stddev);
    for (float &x : v)
      x = dist(rng);
  };
}
auto constant(float value) {
  return [value](std::mt19937_64 &, std::vector<float> &v) { std::fill(v.begin(), v.end(), value); };
}
/// softplus^-1 of dt ~ exp(U(log 0.001, log 0.1)), floored at 1e-4.
void dtBias(std::mt19937_64 &rng, std::vector<float> &v) {
  std::uniform_real_distribution<double> dist(std::log(0.001), std::log(0.1));
  for (float &x : v) {
    double dt = std::max(std::exp(dist(rng)), 1e-4);
    x = static_cast<float>(dt + std::log(-std::expm1(-dt)));
  }
}

std::vector<Tensor> tensorsOf(const Shape &s) {
  std::vector<Tensor> out;
  const int64_t E = s.expand * s.d, K = s.conv, N = s.state;
  const float proj = 1.0f / std::sqrt(static_cast<float>(s.d));
  const float outProj = 1.0f / std::sqrt(static_cast<float>(E)) /
                        std::sqrt(static_cast<float>(s.layers));
  const float convBound = 1.0f / std::sqrt(static_cast<float>(K));
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  out.push_back({"backbone.embeddings.weight", {u(s.vocab), u(s.d)}, false, normal(0.02f)});
  for (int64_t i = 0; i < s.layers; ++i) {
    std::string p = "backbone.layers." + std::to_string(i) + ".";
    out.push_back({p + "norm.weight", {u(s.d)}, false, constant(1.0f)});
    if (s.arch == "mamba2") {
      const int64_t H = E / s.headdim, conv = E + 2 * s.groups * N;
      out.push_back({p + "mixer.in_proj.weight", {u(2 * E + 2 * s.groups * N + H), u(s.d)}, false,
                     uniform(proj)});
      out.push_back({p + "mixer.conv1d.weight", {u(conv), 1, u(K)}, false, uniform(convBound)});
      out.push_back({p + "mixer.conv1d.bias", {u(conv)}, false, uniform(convBound)});
      out.push_back({p + "mixer.dt_bias", {u(H)}, true, dtBias});
      out.push_back({p + "mixer.A_log", {u(H)}, true, [](std::mt19937_64 &rng, std::vector<float> &v) {
                       std::uniform_real_distribution<float> dist(1.0f, 16.0f);
                       for (float &x : v)
                         x = std::log(dist(rng));
                     }});
      out.push_back({p + "mixer.D", {u(H)}, true, constant(1.0f)});
      out.push_back({p + "mixer.norm.weight", {u(E)}, false, constant(1.0f)});
    } else {
      const int64_t R = (s.d + 15) / 16;
      out.push_back({p + "mixer.in_proj.weight", {u(2 * E), u(s.d)}, false, uniform(proj)});
      out.push_back({p + "mixer.conv1d.weight", {u(E), 1, u(K)}, false, uniform(convBound)});
      out.push_back({p + "mixer.conv1d.bias", {u(E)}, false, uniform(convBound)});
      out.push_back({p + "mixer.x_proj.weight", {u(R + 2 * N), u(E)}, false,
                     uniform(1.0f / std::sqrt(static_cast<float>(E)))});
      out.push_back({p + "mixer.dt_proj.weight", {u(E), u(R)}, false,
                     uniform(1.0f / std::sqrt(static_cast<float>(R)))});
      out.push_back({p + "mixer.dt_proj.bias", {u(E)}, true, dtBias});
      out.push_back({p + "mixer.A_log", {u(E), u(N)}, true, [N](std::mt19937_64 &, std::vector<float> &v) {
                       for (size_t k = 0; k < v.size(); ++k)
                         v[k] = std::log(static_cast<float>(k % N + 1));
                     }});
      out.push_back({p + "mixer.D", {u(E)}, true, constant(1.0f)});
    }
    out.push_back({p + "mixer.out_proj.weight", {u(s.d), u(E)}, false, uniform(outProj)});
  }
  out.push_back({"backbone.norm_f.weight", {u(s.d)}, false, constant(1.0f)});
  if (!s.tied)
    out.push_back({"lm_head.weight", {u(s.vocab), u(s.d)}, false, normal(0.02f)});
  return out;
}

Json configOf(const Shape &s, const std::string &dtype) {
  Json c;
  const int64_t E = s.expand * s.d;
  c["architectures"] = {s.arch == "mamba2" ? "Mamba2ForCausalLM" : "MambaForCausalLM"};
  c["model_type"] = s.arch;
  c["vocab_size"] = s.vocab;
  c["hidden_size"] = s.d;
  c["state_size"] = s.state;
  c["num_hidden_layers"] = s.layers;
  c["expand"] = s.expand;
  c["conv_kernel"] = s.conv;
  c["use_bias"] = false;
  c["use_conv_bias"] = true;
  c["hidden_act"] = "silu";
  c["layer_norm_epsilon"] = 1e-5;
  c["residual_in_fp32"] = true;
  c["time_step_min"] = 0.001;
  c["time_step_max"] = 0.1;
  c["time_step_floor"] = 1e-4;
  c["tie_word_embeddings"] = s.tied;
  c["dtype"] = dtype == "f16" ? "float16" : dtype == "bf16" ? "bfloat16" : "float32";
  if (s.arch == "mamba2") {
    c["num_heads"] = E / s.headdim;
    c["head_dim"] = s.headdim;
    c["n_groups"] = s.groups;
    c["chunk_size"] = s.chunk;
    c["time_step_limit"] = Json::array({0.0, Json{{"__float__", "Infinity"}}});
  } else {
    c["intermediate_size"] = E;
    c["time_step_rank"] = (s.d + 15) / 16;
  }
  return c;
}

/// fp32 values -> the checkpoint dtype's little-endian bytes.
std::string encode(const std::vector<float> &values, st::DType dtype) {
  std::string bytes;
  if (dtype == st::DType::F32) {
    bytes.resize(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
  }
  bytes.resize(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t half;
    if (dtype == st::DType::F16) {
      half = quamba::floatToHalf(values[i]);
    } else {
      uint32_t bits;
      std::memcpy(&bits, &values[i], 4);
      // Round to nearest even into bf16 (no NaN in these values).
      bits += 0x7fffu + ((bits >> 16) & 1u);
      half = static_cast<uint16_t>(bits >> 16);
    }
    std::memcpy(&bytes[2 * i], &half, 2);
  }
  return bytes;
}

} // namespace

int main(int argc, char **argv) {
  std::string shapeName, arch, out, dtype = "f16";
  int64_t d = 0, layers = 0, vocab = 0, groups = 1;
  uint64_t seed = 0;
  double shardGiB = 2.0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> int64_t {
      std::string v = value();
      char *end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0)
        die(a + ": '" + v + "' is not a non-negative integer");
      return n;
    };
    if (a == "--shape") shapeName = value();
    else if (a == "--arch") arch = value();
    else if (a == "--d-model") d = number();
    else if (a == "--layers") layers = number();
    else if (a == "--vocab") vocab = number();
    else if (a == "--groups") groups = number();
    else if (a == "--dtype") dtype = value();
    else if (a == "--seed") seed = static_cast<uint64_t>(number());
    else if (a == "--shard-gib") shardGiB = std::atof(value().c_str());
    else if (a == "-o") out = value();
    else if (a == "--list") {
      for (const auto &[name, s] : presets())
        std::cout << name << ": " << s.arch << ", d " << s.d << ", " << s.layers << " layers, vocab "
                  << s.vocab << "\n";
      return 0;
    } else
      die("unknown option '" + a + "' (see the header of quamba-random-checkpoint.cpp)");
  }
  if (out.empty())
    die("-o DIR is required");
  Shape shape;
  if (!shapeName.empty()) {
    auto it = presets().find(shapeName);
    if (it == presets().end())
      die("unknown --shape '" + shapeName + "'; --list shows the known ones");
    shape = it->second;
    if (layers)
      shape.layers = layers; // a truncated model of the same layer shapes
  } else {
    if (arch != "mamba" && arch != "mamba2")
      die("give --shape NAME, or --arch mamba|mamba2 with --d-model, --layers and --vocab");
    if (d <= 0 || layers <= 0 || vocab <= 0)
      die("--d-model, --layers and --vocab must be positive");
    shape = Shape{arch, d, layers, vocab, arch == "mamba2" ? 128 : 16};
    shape.groups = groups;
    if (arch == "mamba2" && (2 * d) % shape.headdim != 0)
      die("--d-model: 2 * d_model must be a multiple of the head dim 64");
  }
  st::DType type = dtype == "f16"    ? st::DType::F16
                   : dtype == "bf16" ? st::DType::BF16
                   : dtype == "f32"  ? st::DType::F32
                                     : (die("--dtype must be f16, bf16 or f32"), st::DType::F32);

  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec)
    die(out + ": " + ec.message());
  std::vector<Tensor> tensors = tensorsOf(shape);
  uint64_t total = 0;
  for (const Tensor &t : tensors)
    total += t.numel();

  // Group tensors into shards of about --shard-gib, in order.
  const uint64_t shardBytes = static_cast<uint64_t>(shardGiB * (1ull << 30));
  std::vector<std::vector<size_t>> shards(1);
  uint64_t inShard = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    uint64_t bytes = tensors[i].numel() * (tensors[i].keepF32 ? 4 : st::dtypeBits(type) / 8);
    if (inShard > 0 && inShard + bytes > shardBytes) {
      shards.emplace_back();
      inShard = 0;
    }
    shards.back().push_back(i);
    inShard += bytes;
  }

  // Each tensor draws from its own stream (seed, index): shards and their
  // order do not change the values.
  quamba::ProgressBar progress("weights", static_cast<int64_t>(total), "params");
  int64_t done = 0;
  Json weightMap = Json::object();
  uint64_t totalBytes = 0;
  char name[64];
  for (size_t s = 0; s < shards.size(); ++s) {
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    st::Writer writer;
    writer.setMetadata("format", "pt");
    for (size_t i : shards[s]) {
      const Tensor &t = tensors[i];
      std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + i);
      std::vector<float> values(t.numel());
      t.fill(rng, values);
      st::DType tensorType = t.keepF32 ? st::DType::F32 : type;
      std::string bytes = encode(values, tensorType);
      totalBytes += bytes.size();
      if (quamba::Status status = writer.add(t.name, tensorType, t.shape, bytes.data(), bytes.size()); !status)
        die(t.name + ": " + status.error());
      weightMap[t.name] = name;
      done += static_cast<int64_t>(t.numel());
      progress.update(done);
    }
    if (quamba::Status status = writer.write(out + "/" + name); !status)
      die(status.error());
  }
  progress.finish();
  Json index;
  index["metadata"] = {{"total_size", totalBytes}};
  index["weight_map"] = weightMap;
  if (quamba::Status s = st::writeFileAtomically(out + "/config.json", configOf(shape, dtype).dump(2) + "\n"); !s)
    die(s.error());
  if (quamba::Status s = st::writeFileAtomically(out + "/model.safetensors.index.json", index.dump(2) + "\n"); !s)
    die(s.error());
  std::cerr << "quamba-random-checkpoint: " << total << " parameters (" << totalBytes
            << " bytes) in " << shards.size() << " shard(s) -> " << out << "\n";
  return 0;
}
