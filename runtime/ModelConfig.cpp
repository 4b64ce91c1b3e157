//===- ModelConfig.cpp - Mamba1/Mamba2 model configuration -----------------===//
//
// config.json -> ModelConfig for the transformers and mamba_ssm conventions
// (shared/reference/formats.md §3.1-§3.3). nlohmann-json throws; every call
// into it happens below parseModelConfig's catch-all, so no exception leaves
// this file. Field errors are collected by FieldReader (first error wins) so
// the per-convention parsers read as straight-line lists of keys.
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelConfig.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

namespace quamba {

std::string_view archName(Arch arch) {
  switch (arch) {
  case Arch::Mamba1:
    return "mamba1";
  case Arch::Mamba2:
    return "mamba2";
  }
  return "unknown";
}

int64_t ModelConfig::convDim() const {
  if (arch == Arch::Mamba1)
    return dInner;
  return dInner + 2 * ngroups * dState;
}

int64_t ModelConfig::inProjRows() const {
  if (arch == Arch::Mamba1)
    return 2 * dInner;
  return 2 * dInner + 2 * ngroups * dState + nheads;
}

namespace {

using Json = nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every size is capped so that the derived quantities (expand * d_model,
// 2E + 2GN + H, the padded vocabulary) cannot overflow int64_t; real models
// are many orders of magnitude below this.
constexpr int64_t kMaxSize = int64_t(1) << 30;

// config.json files are a few kilobytes; refuse to slurp a mistaken path to a
// multi-gigabyte weights file.
constexpr size_t kMaxConfigBytes = size_t(16) << 20;

enum class Convention { HfMamba1, HfMamba2, StateSpaces };

const char *const kHfMamba1Owner = "MambaForCausalLM";
const char *const kHfMamba2Owner = "Mamba2ForCausalLM";
const char *const kStateSpacesOwner = "mamba_ssm MambaConfig";

Error configError(const std::string &source, const std::string &message) {
  return makeError(source + ": " + message);
}

/// A JSON value as it appears in the file, shortened for an error message.
std::string describe(const Json &value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr size_t kMaxShown = 80;
  if (text.size() > kMaxShown)
    text = text.substr(0, kMaxShown - 3) + "...";
  return text;
}

std::string quoted(const std::string &key) { return "\"" + key + "\""; }

/// The integer in `value` if it is one within [minValue, maxValue]. Integral
/// floats (`2.0`, as Python writes a float-typed field) are accepted too.
std::optional<int64_t> asInteger(const Json &value, int64_t minValue,
                                 int64_t maxValue) {
  int64_t integer = 0;
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(maxValue))
      return std::nullopt;
    integer = static_cast<int64_t>(u);
  } else if (value.is_number_integer()) {
    integer = value.get<int64_t>();
  } else if (value.is_number_float()) {
    double d = value.get<double>();
    // Range-check before converting: a double outside int64_t is UB to cast.
    if (!std::isfinite(d) || d != std::floor(d) ||
        d < static_cast<double>(minValue) || d > static_cast<double>(maxValue))
      return std::nullopt;
    integer = static_cast<int64_t>(d);
  } else {
    return std::nullopt;
  }
  if (integer < minValue || integer > maxValue)
    return std::nullopt;
  return integer;
}

/// An integer (or integral float) above kMaxSize.
bool isTooLargeInteger(const Json &value) {
  if (value.is_number_unsigned())
    return value.get<uint64_t>() > static_cast<uint64_t>(kMaxSize);
  if (value.is_number_integer())
    return value.get<int64_t>() > kMaxSize;
  if (value.is_number_float()) {
    double d = value.get<double>();
    return std::isfinite(d) && d == std::floor(d) &&
           d > static_cast<double>(kMaxSize);
  }
  return false;
}

/// Python's spellings of the non-finite floats, as strings.
std::optional<double> parseNonFiniteName(const std::string &name) {
  if (name == "Infinity" || name == "+Infinity" || name == "inf" ||
      name == "+inf" || name == "Inf")
    return kInf;
  if (name == "-Infinity" || name == "-inf" || name == "-Inf")
    return -kInf;
  if (name == "NaN" || name == "nan")
    return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

/// One element of a time_step_limit / dt_limit pair: a number, a string such
/// as "Infinity", or transformers 5.x's {"__float__": "Infinity"}.
std::optional<double> asLimitElement(const Json &value) {
  if (value.is_number())
    return value.get<double>();
  if (value.is_string())
    return parseNonFiniteName(value.get<std::string>());
  if (value.is_object() && value.size() == 1) {
    auto it = value.find("__float__");
    if (it != value.end() && it->is_string())
      return parseNonFiniteName(it->get<std::string>());
  }
  return std::nullopt;
}

/// Typed access to the keys of one JSON object. The first error is kept and
/// later reads return their fallback, so a parser reads all of its keys and
/// checks ok() once before using the values.
class FieldReader {
public:
  FieldReader(const Json &object, const std::string &source,
              std::string keyPrefix, std::string owner)
      : object_(object), source_(source), keyPrefix_(std::move(keyPrefix)),
        owner_(std::move(owner)) {}

  bool ok() const { return !error_.has_value(); }
  Error error() const { return *error_; }

  /// Records an error unless an earlier one is already kept.
  void fail(const std::string &message) {
    if (!error_)
      error_ = configError(source_, message);
  }

  /// The key as the error messages spell it ("ssm_cfg.headdim").
  std::string name(const char *key) const { return keyPrefix_ + key; }

  /// The value of `key`, or nullptr when it is absent or null: Python writes
  /// None for "use the default", so both mean the same.
  const Json *find(const char *key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null())
      return nullptr;
    return &*it;
  }

  /// A required positive size. Unlike find(), an explicit null is reported
  /// as a wrong value rather than as a missing key.
  int64_t size(const char *key) {
    auto it = object_.find(key);
    if (it == object_.end()) {
      fail("missing required key " + quoted(name(key)) + " (" + owner_ + ")");
      return 0;
    }
    return readSize(key, *it);
  }

  int64_t size(const char *key, int64_t fallback) {
    return optionalSize(key).value_or(fallback);
  }

  std::optional<int64_t> optionalSize(const char *key) {
    const Json *value = find(key);
    if (!value)
      return std::nullopt;
    int64_t result = readSize(key, *value);
    return ok() ? std::optional<int64_t>(result) : std::nullopt;
  }

  /// A size that may also be "auto" (dt_rank), meaning `autoValue`.
  int64_t sizeOrAuto(const char *key, int64_t autoValue) {
    const Json *value = find(key);
    if (!value || (value->is_string() && value->get<std::string>() == "auto"))
      return autoValue;
    if (value->is_string()) {
      fail(quoted(name(key)) + " must be a positive integer or \"auto\", got " +
           describe(*value));
      return autoValue;
    }
    return readSize(key, *value);
  }

  /// A non-negative integer (d_intermediate, where 0 means "absent").
  int64_t count(const char *key, int64_t fallback) {
    const Json *value = find(key);
    if (!value)
      return fallback;
    if (auto integer = asInteger(*value, 0, kMaxSize))
      return *integer;
    fail(quoted(name(key)) + " must be a non-negative integer, got " +
         describe(*value));
    return fallback;
  }

  bool flag(const char *key, bool fallback) {
    const Json *value = find(key);
    if (!value)
      return fallback;
    if (value->is_boolean())
      return value->get<bool>();
    fail(quoted(name(key)) + " must be true or false, got " + describe(*value));
    return fallback;
  }

  double positiveNumber(const char *key, double fallback) {
    const Json *value = find(key);
    if (!value)
      return fallback;
    if (value->is_number()) {
      double number = value->get<double>();
      if (std::isfinite(number) && number > 0)
        return number;
    }
    fail(quoted(name(key)) + " must be a positive finite number, got " +
         describe(*value));
    return fallback;
  }

  std::optional<std::string> stringValue(const char *key) {
    const Json *value = find(key);
    if (!value)
      return std::nullopt;
    if (value->is_string())
      return value->get<std::string>();
    fail(quoted(name(key)) + " must be a string, got " + describe(*value));
    return std::nullopt;
  }

  /// time_step_limit / dt_limit: [min, max], default (0, inf), i.e. no clamp.
  std::pair<double, double> limit(const char *key) {
    const std::pair<double, double> none{0.0, kInf};
    const Json *value = find(key);
    if (!value)
      return none;
    std::optional<double> lo, hi;
    if (value->is_array() && value->size() == 2) {
      lo = asLimitElement((*value)[0]);
      hi = asLimitElement((*value)[1]);
    }
    if (!lo || !hi) {
      fail(quoted(name(key)) +
           " must be a pair [min, max] of numbers (infinity written as "
           "{\"__float__\": \"Infinity\"}, \"Infinity\" or Infinity), got " +
           describe(*value));
      return none;
    }
    // A NaN bound would make every clamp NaN; reject it with the order check.
    if (std::isnan(*lo) || std::isnan(*hi) || *lo > *hi) {
      fail(quoted(name(key)) + " must satisfy min <= max with no NaN, got " +
           describe(*value));
      return none;
    }
    // dt = softplus(.) > 0, so a lower bound <= 0 clamps nothing: normalise
    // it to 0 (exact), the form the IR's dt_min takes.
    return {std::max(*lo, 0.0), *hi};
  }

  /// hidden_act / activation: the mixers hard-code SiLU.
  void requireSilu(const char *key) {
    std::optional<std::string> act = stringValue(key);
    if (act && *act != "silu")
      fail(quoted(name(key)) + " must be \"silu\" (the only activation the "
                               "Mamba mixers use), got \"" +
           *act + "\"");
  }

  /// A boolean key whose value `unsupported` describes a model quamba does
  /// not implement.
  void rejectFlag(const char *key, bool fallback, bool unsupported,
                  const std::string &why) {
    if (flag(key, fallback) == unsupported)
      fail(quoted(name(key)) + " is " + (unsupported ? "true" : "false") +
           ": " + why);
  }

private:
  int64_t readSize(const char *key, const Json &value) {
    if (auto integer = asInteger(value, 1, kMaxSize))
      return *integer;
    // Mention the cap only when it is what the value violates.
    std::string expected =
        isTooLargeInteger(value)
            ? "a positive integer no larger than " + std::to_string(kMaxSize)
            : "a positive integer";
    fail(quoted(name(key)) + " must be " + expected + ", got " +
         describe(value));
    return 0;
  }

  const Json &object_;
  const std::string &source_;
  std::string keyPrefix_;
  std::string owner_;
  std::optional<Error> error_;
};

//===----------------------------------------------------------------------===//
// Non-finite tokens
//===----------------------------------------------------------------------===//

bool isWordChar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
}

/// Length of a bare Infinity / -Infinity / NaN token starting at `pos`, or 0.
size_t nonFiniteTokenLength(std::string_view text, size_t pos) {
  if (pos > 0 && isWordChar(text[pos - 1]))
    return 0;
  for (std::string_view token : {"-Infinity", "Infinity", "NaN"}) {
    if (text.substr(pos, token.size()) != token)
      continue;
    size_t end = pos + token.size();
    if (end < text.size() && isWordChar(text[end]))
      return 0;
    return token.size();
  }
  return 0;
}

/// Python's json.dump writes float("inf") as the bare token Infinity, which
/// is not JSON; configs from older transformers versions contain it in
/// time_step_limit. Quote such tokens (outside strings only) so the strict
/// parser accepts them; asLimitElement then reads the strings.
std::string quoteNonFiniteTokens(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  bool inString = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size();) {
    char ch = text[i];
    if (inString) {
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        inString = false;
      out += ch;
      ++i;
      continue;
    }
    if (ch == '"') {
      inString = true;
      out += ch;
      ++i;
      continue;
    }
    if (size_t length = nonFiniteTokenLength(text, i)) {
      out += '"';
      out.append(text.substr(i, length));
      out += '"';
      i += length;
      continue;
    }
    out += ch;
    ++i;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Convention detection
//===----------------------------------------------------------------------===//

Result<Convention> detectConvention(const Json &root,
                                    const std::string &source) {
  // model_type wins: the official -hf Mamba1 configs also carry mamba_ssm's
  // d_model / n_layer / ssm_cfg, which transformers ignores.
  auto modelType = root.find("model_type");
  if (modelType != root.end() && !modelType->is_null()) {
    if (!modelType->is_string())
      return configError(source, "\"model_type\" must be a string, got " +
                                     describe(*modelType));
    const std::string type = modelType->get<std::string>();
    if (type == "mamba")
      return Convention::HfMamba1;
    if (type == "mamba2")
      return Convention::HfMamba2;
    return configError(source, "unsupported model_type \"" + type +
                                   "\" (expected \"mamba\" or \"mamba2\")");
  }

  auto architectures = root.find("architectures");
  if (architectures != root.end() && architectures->is_array()) {
    for (const Json &arch : *architectures) {
      if (arch == "MambaForCausalLM")
        return Convention::HfMamba1;
      if (arch == "Mamba2ForCausalLM")
        return Convention::HfMamba2;
    }
  }

  if (root.contains("ssm_cfg") ||
      (root.contains("d_model") && root.contains("n_layer")))
    return Convention::StateSpaces;

  return configError(
      source, "cannot tell the checkpoint convention: expected \"model_type\" "
              "(\"mamba\" or \"mamba2\"), \"architectures\" naming "
              "MambaForCausalLM or Mamba2ForCausalLM, or a mamba_ssm config "
              "(\"ssm_cfg\", or \"d_model\" and \"n_layer\")");
}

//===----------------------------------------------------------------------===//
// transformers
//===----------------------------------------------------------------------===//

/// The keys both transformers classes share.
void readHfCommon(FieldReader &fields, ModelConfig &config) {
  config.format = CheckpointFormat::HuggingFace;
  config.dModel = fields.size("hidden_size");
  config.nLayer = fields.size("num_hidden_layers");
  config.vocabSize = fields.size("vocab_size");
  config.dState = fields.size("state_size");
  config.expand = fields.size("expand", 2);
  config.dConv = fields.size("conv_kernel", 4);
  config.normEps = fields.positiveNumber("layer_norm_epsilon", 1e-5);
  config.useBias = fields.flag("use_bias", false);
  config.useConvBias = fields.flag("use_conv_bias", true);
  fields.requireSilu("hidden_act");
}

/// intermediate_size is derived by transformers (expand * hidden_size) and
/// written out; a file where the two disagree has been edited by hand.
Status checkIntermediateSize(std::optional<int64_t> intermediate,
                             const ModelConfig &config,
                             const std::string &source) {
  if (!intermediate || *intermediate == config.dInner)
    return Status::success();
  return configError(source, "intermediate_size (" +
                                 std::to_string(*intermediate) +
                                 ") != expand * hidden_size (" +
                                 std::to_string(config.expand) + " * " +
                                 std::to_string(config.dModel) + " = " +
                                 std::to_string(config.dInner) + ")");
}

Result<ModelConfig> parseHfMamba1(const Json &root, const std::string &source) {
  FieldReader fields(root, source, "", kHfMamba1Owner);
  ModelConfig config;
  config.arch = Arch::Mamba1;
  readHfCommon(fields, config);
  config.tieEmbeddings = fields.flag("tie_word_embeddings", true);
  std::optional<int64_t> intermediate = fields.optionalSize("intermediate_size");
  // transformers resolves "auto" when the config is built; 5.x writes the
  // number, hand-written files may still say "auto".
  config.dtRank = fields.sizeOrAuto("time_step_rank", (config.dModel + 15) / 16);
  if (!fields.ok())
    return fields.error();

  config.dInner = config.expand * config.dModel;
  if (Status status = checkIntermediateSize(intermediate, config, source);
      !status)
    return makeError(status.error());
  config.dtLimitMin = 0.0;
  config.dtLimitMax = kInf;
  return config;
}

Result<ModelConfig> parseHfMamba2(const Json &root, const std::string &source) {
  FieldReader fields(root, source, "", kHfMamba2Owner);
  ModelConfig config;
  config.arch = Arch::Mamba2;
  readHfCommon(fields, config);
  // The transformers Mamba2 defaults describe Codestral-7B, so every
  // structural key is required rather than silently defaulted.
  config.nheads = fields.size("num_heads");
  config.headdim = fields.size("head_dim");
  config.ngroups = fields.size("n_groups");
  config.chunkSize = fields.size("chunk_size", 256);
  // Mamba2Config's class default is untied (Codestral); save_pretrained
  // always writes the key, so the default only matters for hand-written files.
  config.tieEmbeddings = fields.flag("tie_word_embeddings", false);
  std::tie(config.dtLimitMin, config.dtLimitMax) =
      fields.limit("time_step_limit");
  std::optional<int64_t> intermediate = fields.optionalSize("intermediate_size");
  fields.rejectFlag("rms_norm", true, false,
                    "only the gated RMSNorm Mamba2 mixer is supported");
  // norm_before_gate is deliberately not read. transformers (4.44 to 5.x)
  // always computes gate-then-norm and ignores the key, and 4.44 wrote its
  // class default `true` into real files (Mamba-Codestral-7B-v0.1), so the
  // key says nothing about the weights. mamba_ssm's ssm_cfg key is honoured.
  if (!fields.ok())
    return fields.error();

  config.dInner = config.dModel * config.expand;
  if (config.dInner != config.nheads * config.headdim)
    return configError(
        source, "hidden_size * expand (" + std::to_string(config.dModel) +
                    " * " + std::to_string(config.expand) + " = " +
                    std::to_string(config.dInner) +
                    ") != num_heads * head_dim (" +
                    std::to_string(config.nheads) + " * " +
                    std::to_string(config.headdim) + " = " +
                    std::to_string(config.nheads * config.headdim) + ")");
  if (config.nheads % config.ngroups != 0)
    return configError(source, "n_groups (" + std::to_string(config.ngroups) +
                                   ") does not divide num_heads (" +
                                   std::to_string(config.nheads) + ")");
  if (Status status = checkIntermediateSize(intermediate, config, source);
      !status)
    return makeError(status.error());
  return config;
}

//===----------------------------------------------------------------------===//
// mamba_ssm (state-spaces)
//===----------------------------------------------------------------------===//

/// mamba_ssm's Mamba (v1) mixer kwargs, with the mixer's defaults.
Result<ModelConfig> readSsmMamba1(FieldReader &ssm, ModelConfig config) {
  config.arch = Arch::Mamba1;
  config.dState = ssm.size("d_state", 16);
  config.dConv = ssm.size("d_conv", 4);
  config.expand = ssm.size("expand", 2);
  config.dtRank = ssm.sizeOrAuto("dt_rank", (config.dModel + 15) / 16);
  config.useConvBias = ssm.flag("conv_bias", true);
  config.useBias = ssm.flag("bias", false);
  if (!ssm.ok())
    return ssm.error();
  config.dInner = config.expand * config.dModel;
  config.dtLimitMin = 0.0;
  config.dtLimitMax = kInf;
  return config;
}

/// mamba_ssm's Mamba2 mixer kwargs, with the mixer's defaults.
Result<ModelConfig> readSsmMamba2(FieldReader &ssm, ModelConfig config,
                                  const std::string &source) {
  config.arch = Arch::Mamba2;
  config.dState = ssm.size("d_state", 128);
  config.dConv = ssm.size("d_conv", 4);
  config.expand = ssm.size("expand", 2);
  config.headdim = ssm.size("headdim", 64);
  config.ngroups = ssm.size("ngroups", 1);
  config.chunkSize = ssm.size("chunk_size", 256);
  config.dHasHdim = ssm.flag("D_has_hdim", false);
  config.useBias = ssm.flag("bias", false);
  config.useConvBias = ssm.flag("conv_bias", true);
  std::tie(config.dtLimitMin, config.dtLimitMax) = ssm.limit("dt_limit");
  ssm.rejectFlag("rmsnorm", true, false,
                 "a Mamba2 mixer without the gated RMSNorm is not supported");
  ssm.rejectFlag("norm_before_gate", false, true,
                 "only the gate-then-norm RMSNorm (norm_before_gate = false) "
                 "is supported");
  std::optional<int64_t> dSsm = ssm.optionalSize("d_ssm");
  if (!ssm.ok())
    return ssm.error();

  config.dInner = config.expand * config.dModel;
  // d_ssm < d_inner runs the remaining channels through a gated MLP (d_mlp in
  // formats.md §4.3), which no public checkpoint uses.
  if (dSsm && *dSsm != config.dInner)
    return configError(source, "ssm_cfg.d_ssm (" + std::to_string(*dSsm) +
                                   ") != d_inner (" +
                                   std::to_string(config.dInner) +
                                   "): the extra gated-MLP channels are not "
                                   "supported");
  if (config.dInner % config.headdim != 0)
    return configError(
        source, "d_inner (expand * d_model = " + std::to_string(config.expand) +
                    " * " + std::to_string(config.dModel) + " = " +
                    std::to_string(config.dInner) +
                    ") is not a multiple of ssm_cfg.headdim (" +
                    std::to_string(config.headdim) + ")");
  config.nheads = config.dInner / config.headdim;
  if (config.nheads % config.ngroups != 0)
    return configError(source, "ssm_cfg.ngroups (" +
                                   std::to_string(config.ngroups) +
                                   ") does not divide nheads (d_inner / "
                                   "headdim = " +
                                   std::to_string(config.dInner) + " / " +
                                   std::to_string(config.headdim) + " = " +
                                   std::to_string(config.nheads) + ")");
  return config;
}

/// Rejects the MambaConfig options that add non-Mamba layers.
void rejectHybridLayers(FieldReader &fields) {
  if (fields.count("d_intermediate", 0) > 0)
    fields.fail("\"d_intermediate\" is " +
                describe(*fields.find("d_intermediate")) +
                ": MLP layers are not supported (expected 0)");
  if (const Json *attn = fields.find("attn_layer_idx")) {
    if (!attn->is_array())
      fields.fail("\"attn_layer_idx\" must be a list, got " + describe(*attn));
    else if (!attn->empty())
      fields.fail("\"attn_layer_idx\" is " + describe(*attn) +
                  ": attention layers are not supported (expected [])");
  }
  fields.rejectFlag("rms_norm", true, false,
                    "LayerNorm blocks are not supported (only RMSNorm)");
}

Result<ModelConfig> parseStateSpaces(const Json &root,
                                     const std::string &source) {
  FieldReader fields(root, source, "", kStateSpacesOwner);
  ModelConfig config;
  config.format = CheckpointFormat::StateSpaces;
  config.dModel = fields.size("d_model");
  config.nLayer = fields.size("n_layer");
  int64_t vocab = fields.size("vocab_size");
  int64_t multiple = fields.size("pad_vocab_size_multiple", 8);
  config.tieEmbeddings = fields.flag("tie_embeddings", true);
  // mamba_ssm hard-codes the norm epsilon; it is not part of MambaConfig.
  config.normEps = 1e-5;
  rejectHybridLayers(fields);

  static const Json kEmptyObject = Json::object();
  const Json *ssmCfg = fields.find("ssm_cfg");
  if (ssmCfg && !ssmCfg->is_object())
    fields.fail("\"ssm_cfg\" must be an object, got " + describe(*ssmCfg));
  if (!ssmCfg || !ssmCfg->is_object())
    ssmCfg = &kEmptyObject;
  FieldReader ssm(*ssmCfg, source, "ssm_cfg.", kStateSpacesOwner);
  std::string layer = ssm.stringValue("layer").value_or("Mamba1");
  if (!fields.ok())
    return fields.error();
  if (!ssm.ok())
    return ssm.error();

  // The embedding is stored padded; its row count is what the loader sees.
  config.vocabSize = (vocab + multiple - 1) / multiple * multiple;
  if (layer == "Mamba1")
    return readSsmMamba1(ssm, config);
  if (layer == "Mamba2")
    return readSsmMamba2(ssm, config, source);
  return configError(source, "\"ssm_cfg.layer\" is \"" + layer +
                                 "\": unsupported mixer (expected \"Mamba1\" "
                                 "or \"Mamba2\")");
}

//===----------------------------------------------------------------------===//

Result<ModelConfig> parseChecked(std::string_view text,
                                 const std::string &source) {
  Json root;
  try {
    // Column numbers in a parse error count the two quotes added around
    // each bare Infinity/NaN before that point; the line numbers are exact.
    root = Json::parse(quoteNonFiniteTokens(text));
  } catch (const Json::exception &e) {
    return configError(source, std::string("invalid JSON: ") + e.what());
  }
  if (!root.is_object())
    return configError(source, std::string("expected a JSON object at the top "
                                           "level, got ") +
                                   root.type_name());

  Result<Convention> convention = detectConvention(root, source);
  if (!convention)
    return makeError(convention.error());
  switch (*convention) {
  case Convention::HfMamba1:
    return parseHfMamba1(root, source);
  case Convention::HfMamba2:
    return parseHfMamba2(root, source);
  case Convention::StateSpaces:
    return parseStateSpaces(root, source);
  }
  return configError(source, "internal error: unknown convention");
}

} // namespace

Result<ModelConfig> parseModelConfig(std::string_view json,
                                     const std::string &source) {
  // The parsers validate every type before reading it, so nothing below is
  // expected to throw; this is the guarantee the API promises regardless.
  try {
    return parseChecked(json, source);
  } catch (const std::exception &e) {
    return configError(source, std::string("internal error: ") + e.what());
  } catch (...) {
    return configError(source, "internal error: unknown exception");
  }
}

Result<ModelConfig> loadModelConfig(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return makeError(path + ": cannot open config file: " +
                     std::strerror(errno));
  std::string text;
  char buffer[8192];
  size_t got = 0;
  bool tooLarge = false;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    text.append(buffer, got);
    if (text.size() > kMaxConfigBytes) {
      tooLarge = true;
      break;
    }
  }
  // Reading a directory opens fine on Linux and fails here (EISDIR).
  int readErrno = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (readErrno != 0)
    return makeError(path + ": cannot read config file: " +
                     std::strerror(readErrno));
  if (tooLarge)
    return makeError(path + ": larger than " +
                     std::to_string(kMaxConfigBytes >> 20) +
                     " MiB, not a config.json");
  return parseModelConfig(text, path);
}

} // namespace quamba
