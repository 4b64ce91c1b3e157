//===- Plan.cpp - the launch plan and its JSON form -----------------------===//
#include "runtime/plan/Plan.h"

#include "runtime/plan/LaunchOps.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>
#include <tuple>

namespace quamba::plan {

using json = nlohmann::ordered_json;

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::I8: return "i8";
  case DType::U8: return "u8";
  case DType::I32: return "i32";
  }
  return "?";
}

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
    return 2;
  case DType::I8:
  case DType::U8:
    return 1;
  }
  return 1;
}

std::vector<int64_t> Buffer::dims(int64_t batch, int64_t seqlen) const {
  std::vector<int64_t> out;
  for (const ShapeExpr &d : shape)
    out.push_back(d.evaluate(batch, seqlen));
  return out;
}

int64_t Buffer::numel(int64_t batch, int64_t seqlen) const {
  int64_t n = 1;
  for (int64_t d : dims(batch, seqlen))
    if (__builtin_mul_overflow(n, d, &n))
      return -1;
  return n;
}

double Launch::attr(const std::string &name) const {
  auto it = attrs.find(name);
  return it == attrs.end() || it->second.empty() ? 0.0 : it->second.front();
}

const EntryPoint *Plan::entry(const std::string &name) const {
  for (const EntryPoint &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

const KernelInfo *Plan::kernel(const std::string &name) const {
  for (const KernelInfo &k : kernels)
    if (k.name == name)
      return &k;
  return nullptr;
}

namespace {

/// The linear and causal_conv1d_step launches a conv-step epilogue fuses,
/// attrs only (LaunchOps.h: the step's attrs carry kConvStepPrefix).
std::pair<Launch, Launch> convStepAttrs(const Launch &launch) {
  std::pair<Launch, Launch> pair;
  pair.first.op = launch.op;
  pair.second.op = "causal_conv1d_step";
  const std::string prefix = kConvStepPrefix;
  for (const auto &[key, values] : launch.attrs) {
    if (key.compare(0, prefix.size(), prefix) == 0)
      pair.second.attrs[key.substr(prefix.size())] = values;
    else if (key != kConvStepAttr)
      pair.first.attrs[key] = values;
  }
  return pair;
}

bool knownOp(const std::string &op) {
  return std::find(std::begin(kLaunchOps), std::end(kLaunchOps), op) != std::end(kLaunchOps);
}

bool takesConvStepEpilogue(const std::string &op) {
  return op == "linear" || op == "linear_bias" || op == "linear_w8a8" || op == "linear_w4a8" ||
         op == "linear_w4a16";
}

} // namespace

std::optional<ConvStepEpilogue> convStepEpilogue(const Launch &launch) {
  auto part = launch.attrs.find(kConvStepAttr);
  if (part == launch.attrs.end() || part->second.size() != 1 ||
      !takesConvStepEpilogue(launch.op))
    return std::nullopt;
  ConvStepEpilogue f;
  std::tie(f.linear, f.conv) = convStepAttrs(launch);
  const int linearCount = expectedOperandCount(f.linear), convCount = expectedOperandCount(f.conv);
  const int linearIn = epilogueOutputOperand(f.linear), convIn = epilogueOutputOperand(f.conv);
  auto split = f.linear.attrs.find("split_sizes");
  const double parts = split == f.linear.attrs.end() ? 1.0 : split->second.size();
  const double j = part->second[0];
  if (linearCount < 0 || convCount < 0 || linearIn < 0 || convIn < 1 || j < 0 || j >= parts ||
      j != static_cast<int>(j) ||
      static_cast<int>(launch.operands.size()) != linearCount + convCount - 1)
    return std::nullopt;
  // Operands: the linear's inputs, the step's inputs but x, the linear's
  // outputs (part j among them: the step's x), the step's outputs.
  const int convInputs = linearIn, linearOutputs = convInputs + convIn - 1;
  const int convOutputs = linearOutputs + linearCount - linearIn;
  auto range = [](std::vector<int> &to, int from, int end) {
    for (int i = from; i < end; ++i)
      to.push_back(i);
  };
  range(f.linearOperands, 0, linearIn);
  range(f.linearOperands, linearOutputs, convOutputs);
  f.convOperands.push_back(linearOutputs + static_cast<int>(j));
  range(f.convOperands, convInputs, linearOutputs);
  range(f.convOperands, convOutputs, static_cast<int>(launch.operands.size()));
  for (int i : f.linearOperands)
    f.linear.operands.push_back(launch.operands[i]);
  for (int i : f.convOperands)
    f.conv.operands.push_back(launch.operands[i]);
  // Decode: the linear's rows are the step's batch.
  f.linear.scalars = f.conv.scalars = launch.scalars;
  return f;
}

int expectedOperandCount(const Launch &launch) {
  if (launch.attrs.count(kConvStepAttr)) {
    auto [linear, conv] = convStepAttrs(launch);
    int a = expectedOperandCount(linear), b = expectedOperandCount(conv);
    return a < 0 || b < 0 || !takesConvStepEpilogue(launch.op) ? -1 : a + b - 1;
  }
  static const std::map<std::string, int, std::less<>> counts = {
      {"embedding", 3},      {"quantized_embedding", 4},
      {"rms_norm", 3},       {"add_rms_norm", 5},
      {"linear", 3},         {"linear_bias", 4},
      {"causal_conv1d", 5},  {"causal_conv1d_step", 6},
      {"ssd_chunk_state", 8}, {"ssd_state_passing", 4},
      {"ssd_chunk_cb", 3},   {"ssd_chunk_scan", 8}, {"ssd_step", 10},
      {"selective_scan", 10}, {"selective_step", 11},
      {"gated_rms_norm", 4}, {"hadamard", 3},
      {"quantize", 3},       {"dequantize", 3},     {"requantize", 3},
      {"linear_w8a8", 6},    {"linear_w4a8", 7},
      {"linear_w4a16", 5},   {"argmax", 2},         {"sample", 3},
  };
  if (launch.op == "split") {
    auto it = launch.attrs.find("sizes");
    return 1 + (it == launch.attrs.end() ? 0 : static_cast<int>(it->second.size()));
  }
  auto it = counts.find(launch.op);
  if (it == counts.end())
    return -1;
  // A split epilogue: one output operand becomes one per part.
  int count = it->second;
  // An int8 state adds its scales, a requantized output part its own.
  if (launch.flag("state_int8"))
    ++count;
  // A Hadamard epilogue adds its factor, a quantized output its scales.
  if (hasHadamardEpilogue(launch))
    ++count;
  if (quantizedOutputOperands(launch))
    ++count;
  count += static_cast<int>(requantizedParts(launch).size());
  auto split = launch.attrs.find("split_sizes");
  if (split != launch.attrs.end() && !split->second.empty())
    count += static_cast<int>(split->second.size()) - 1;
  return count;
}

std::vector<int> requantizedParts(const Launch &launch) {
  std::vector<int> parts;
  auto it = launch.attrs.find("requantize_parts");
  if (it == launch.attrs.end())
    return parts;
  for (size_t j = 0; j < it->second.size(); ++j)
    if (it->second[j] != 0.0)
      parts.push_back(static_cast<int>(j));
  return parts;
}

int epilogueOutputOperand(const Launch &launch) {
  // The op's first output (LaunchOps.h): after the inputs.
  static const std::map<std::string, int, std::less<>> firstOutput = {
      {"linear", 2},      {"linear_bias", 3},         {"linear_w8a8", 5},
      {"linear_w4a8", 6}, {"linear_w4a16", 4},        {"causal_conv1d", 3},
      {"causal_conv1d_step", 4},
  };
  auto it = firstOutput.find(launch.op);
  if (it == firstOutput.end())
    return -2;
  // An int8 state's scales and the requantized parts' scales are the last
  // inputs.
  return it->second + (int8StateOperands(launch) ? 1 : 0) +
         static_cast<int>(requantizedParts(launch).size());
}

int splitOutputOperand(const Launch &launch) {
  if (!launch.attrs.count("split_sizes"))
    return -1;
  return epilogueOutputOperand(launch);
}

std::optional<Int8StateOperands> int8StateOperands(const Launch &launch) {
  if (!launch.flag("state_int8"))
    return std::nullopt;
  // The f32 layout's state input; the scales follow the inputs.
  static const std::map<std::string, std::pair<int, int>, std::less<>> layout = {
      {"causal_conv1d_step", {1, 4}}, {"ssd_step", {7, 8}}, {"selective_step", {8, 9}}};
  auto it = layout.find(launch.op);
  if (it == layout.end())
    return std::nullopt;
  return Int8StateOperands{it->second.first, it->second.second,
                           static_cast<int>(launch.operands.size()) - 1};
}

bool hasHadamardEpilogue(const Launch &launch) {
  return launch.op == "gated_rms_norm" && launch.flag("hadamard");
}

std::optional<QuantizedOutputOperands> quantizedOutputOperands(const Launch &launch) {
  if (!launch.flag("quantize_output"))
    return std::nullopt;
  // The op's first output without the epilogue; the scales are the last
  // input, so the output moves one place on.
  static const std::map<std::string, int, std::less<>> firstOutput = {
      {"rms_norm", 2}, {"add_rms_norm", 3}, {"gated_rms_norm", 3}, {"hadamard", 2}};
  auto it = firstOutput.find(launch.op);
  if (it == firstOutput.end())
    return std::nullopt;
  int scales = it->second + (hasHadamardEpilogue(launch) ? 1 : 0);
  return QuantizedOutputOperands{scales, scales + 1};
}

namespace {

json exprsToJson(const std::vector<ShapeExpr> &exprs) {
  json out = json::array();
  for (const ShapeExpr &e : exprs) {
    if (e.isConstant())
      out.push_back(e.evaluate(0, 0));
    else
      out.push_back(e.text());
  }
  return out;
}

/// A plan value of the wrong kind or range: fromJson reports it as an error.
struct BadValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// `value` as a T. json's get<T>() converts a float or an out-of-range
/// integer (undefined behaviour, or a wrapped value: an index 2^32 + 1
/// would name buffer 1), so only integers in T's range pass.
template <typename T> T integer(const json &value) {
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max())
      return static_cast<T>(v);
  }
  throw BadValue("expected an integer in [" + std::to_string(std::numeric_limits<T>::min()) +
                 ", " + std::to_string(std::numeric_limits<T>::max()) + "], got " +
                 value.dump());
}

template <typename T> std::vector<T> integers(const json &value) {
  if (!value.is_array())
    throw BadValue("expected an array of integers, got " + value.dump());
  std::vector<T> out;
  for (const json &v : value)
    out.push_back(integer<T>(v));
  return out;
}

Result<ShapeExpr> exprFromJson(const json &value) {
  if (value.is_number_integer())
    return ShapeExpr(integer<int64_t>(value));
  if (value.is_string())
    return ShapeExpr::parse(value.get<std::string>());
  return makeError("expected an integer or an expression string, got " +
                   value.dump());
}

std::optional<DType> parseDType(const std::string &name) {
  for (DType d : {DType::F32, DType::F16, DType::I8, DType::U8, DType::I32})
    if (name == dtypeName(d))
      return d;
  return std::nullopt;
}

} // namespace

std::string Plan::toJson() const {
  json root;
  root["format"] = "quamba-plan";
  root["version"] = version;
  root["target"] = target;
  json buffers = json::array();
  for (const Buffer &b : this->buffers)
    buffers.push_back({{"name", b.name},
                       {"dtype", dtypeName(b.dtype)},
                       {"kind", b.kind == BufferKind::Weight ? "weight" : "activation"},
                       {"shape", exprsToJson(b.shape)}});
  root["buffers"] = std::move(buffers);
  json kernelList = json::array();
  for (const KernelInfo &k : kernels) {
    json entry = {{"name", k.name},
                  {"num_warps", k.numWarps},
                  {"shared", k.sharedBytes},
                  {"signature", k.signature}};
    // Written only when set: artifacts without it launch as before.
    if (k.awaitsPredecessor)
      entry["awaits_predecessor"] = true;
    kernelList.push_back(std::move(entry));
  }
  root["kernels"] = std::move(kernelList);
  auto launchJson = [](const Launch &l) {
    json attrs = json::object();
    for (const auto &[key, values] : l.attrs)
      attrs[key] = values;
    json out = {{"op", l.op},
                {"kernel", l.kernel},
                {"operands", l.operands},
                {"scalars", exprsToJson(l.scalars)},
                {"attrs", std::move(attrs)},
                {"grid", exprsToJson({l.grid.begin(), l.grid.end()})},
                {"block", l.block},
                {"shared", l.sharedBytes}};
    // Written only when restricted: older readers see every launch as
    // unconditional, and such plans have none restricted.
    if (l.minBatch != 1 || l.maxBatch != 0)
      out["batch"] = {l.minBatch, l.maxBatch};
    return out;
  };
  json entryList = json::array();
  for (const EntryPoint &e : entries) {
    json launches = json::array();
    for (const Launch &l : e.launches)
      launches.push_back(launchJson(l));
    json entry = {{"name", e.name},
                  {"single_token", e.singleToken},
                  {"inputs", e.inputs},
                  {"outputs", e.outputs},
                  {"launches", std::move(launches)}};
    if (e.sampler)
      entry["sampler"] = launchJson(*e.sampler);
    if (e.randomSampler)
      entry["random_sampler"] = launchJson(*e.randomSampler);
    entryList.push_back(std::move(entry));
  }
  root["entries"] = std::move(entryList);
  return root.dump();
}

Result<Plan> Plan::fromJson(const std::string &text, const std::string &origin) {
  auto fail = [&](const std::string &what) {
    return makeError(origin + ": launch plan: " + what);
  };
  try {
    json root = json::parse(text);
    if (root.value("format", "") != "quamba-plan")
      return fail("not a quamba plan (no \"format\": \"quamba-plan\")");
    Plan plan;
    plan.version = integer<int>(root.at("version"));
    if (plan.version != kPlanVersion)
      return fail("version " + std::to_string(plan.version) +
                  ", this runtime reads version " + std::to_string(kPlanVersion) +
                  "; recompile the model with this quamba-compile");
    plan.target = root.at("target").get<std::string>();
    for (const json &b : root.at("buffers")) {
      Buffer buffer;
      buffer.name = b.at("name").get<std::string>();
      std::optional<DType> dtype = parseDType(b.at("dtype").get<std::string>());
      if (!dtype)
        return fail("buffer '" + buffer.name + "' has unknown dtype " + b.at("dtype").dump());
      buffer.dtype = *dtype;
      std::string kind = b.at("kind").get<std::string>();
      if (kind != "weight" && kind != "activation")
        return fail("buffer '" + buffer.name + "' has unknown kind '" + kind + "'");
      buffer.kind = kind == "weight" ? BufferKind::Weight : BufferKind::Activation;
      for (const json &d : b.at("shape")) {
        Result<ShapeExpr> e = exprFromJson(d);
        if (!e)
          return fail("buffer '" + buffer.name + "': " + e.error());
        if (buffer.kind == BufferKind::Weight && !e->isConstant())
          return fail("weight '" + buffer.name + "' has a shape that depends on B or L");
        if (buffer.kind == BufferKind::Weight && e->evaluate(0, 0) < 0)
          return fail("weight '" + buffer.name + "' has a negative or overflowing dimension " +
                      e->text());
        buffer.shape.push_back(e.take());
      }
      plan.buffers.push_back(std::move(buffer));
    }
    for (const json &k : root.at("kernels")) {
      KernelInfo info;
      info.name = k.at("name").get<std::string>();
      info.numWarps = integer<int>(k.at("num_warps"));
      info.sharedBytes = integer<int>(k.at("shared"));
      info.signature = k.at("signature").get<std::vector<std::string>>();
      info.awaitsPredecessor = k.value("awaits_predecessor", false);
      plan.kernels.push_back(std::move(info));
    }
    const int bufferCount = static_cast<int>(plan.buffers.size());
    auto checkIndices = [&](const std::vector<int> &indices,
                            const std::string &where) -> Status {
      for (int i : indices)
        if (i < 0 || i >= bufferCount)
          return fail(where + " names buffer " + std::to_string(i) + " of " +
                      std::to_string(bufferCount));
      return Status::success();
    };
    for (const json &e : root.at("entries")) {
      EntryPoint entry;
      entry.name = e.at("name").get<std::string>();
      entry.singleToken = e.at("single_token").get<bool>();
      entry.inputs = integers<int>(e.at("inputs"));
      entry.outputs = integers<int>(e.at("outputs"));
      if (Status s = checkIndices(entry.inputs, "@" + entry.name + " inputs"); !s)
        return makeError(s.error());
      if (Status s = checkIndices(entry.outputs, "@" + entry.name + " outputs"); !s)
        return makeError(s.error());
      auto parseLaunch = [&](const json &l, const std::string &where) -> Result<Launch> {
        Launch launch;
        launch.op = l.at("op").get<std::string>();
        launch.kernel = l.at("kernel").get<std::string>();
        launch.operands = integers<int>(l.at("operands"));
        for (const json &s : l.at("scalars")) {
          Result<ShapeExpr> expr = exprFromJson(s);
          if (!expr)
            return fail(where + ": " + expr.error());
          launch.scalars.push_back(expr.take());
        }
        for (const auto &[key, values] : l.at("attrs").items())
          launch.attrs[key] = values.get<std::vector<double>>();
        const json &grid = l.at("grid");
        if (!grid.is_array() || grid.size() != 3)
          return fail(where + ": grid must have 3 dimensions");
        for (int d = 0; d < 3; ++d) {
          Result<ShapeExpr> expr = exprFromJson(grid[d]);
          if (!expr)
            return fail(where + ": " + expr.error());
          launch.grid[d] = expr.take();
        }
        std::vector<int> block = integers<int>(l.at("block"));
        if (block.size() != 3)
          return fail(where + ": block must have 3 dimensions");
        std::copy(block.begin(), block.end(), launch.block.begin());
        launch.sharedBytes = integer<int>(l.at("shared"));
        if (l.contains("batch")) {
          std::vector<int64_t> range = integers<int64_t>(l.at("batch"));
          if (range.size() != 2 || range[0] < 1 || range[1] < 0 ||
              (range[1] != 0 && range[1] < range[0]))
            return fail(where + ": batch range must be [min >= 1, max >= min or 0]");
          launch.minBatch = range[0];
          launch.maxBatch = range[1];
        }
        int expected = expectedOperandCount(launch);
        if (expected < 0)
          return fail(where + (launch.attrs.count(kConvStepAttr) && knownOp(launch.op)
                                   ? ": op '" + launch.op + "' has no conv-step epilogue"
                                   : ": unknown op '" + launch.op + "'"));
        // The epilogue attrs each launch (or each launch a conv-step
        // epilogue fuses) carries must be ones its op has.
        auto checkEpilogues = [&](const Launch &part) -> Status {
          if (splitOutputOperand(part) == -2)
            return makeError("op '" + part.op + "' has no split epilogue");
          if (part.flag("state_int8") && !int8StateOperands(part))
            return makeError("op '" + part.op + "' has no int8 state");
          if (!requantizedParts(part).empty() && epilogueOutputOperand(part) < 0)
            return makeError("op '" + part.op + "' has no requantizing epilogue");
          return Status::success();
        };
        const bool convStep = launch.attrs.count(kConvStepAttr) != 0;
        if (!convStep)
          if (Status s = checkEpilogues(launch); !s)
            return fail(where + ": " + s.error());
        if (expected != static_cast<int>(launch.operands.size()))
          return fail(where + ": takes " + std::to_string(expected) +
                      " buffer operands, the plan gives " +
                      std::to_string(launch.operands.size()));
        if (convStep) {
          std::optional<ConvStepEpilogue> fused = convStepEpilogue(launch);
          if (!fused)
            return fail(where + ": conv_step must name one output part of the linear");
          for (const Launch *part : {&fused->linear, &fused->conv})
            if (Status s = checkEpilogues(*part); !s)
              return fail(where + ": " + s.error());
        }
        if (Status s = checkIndices(launch.operands, where); !s)
          return makeError(s.error());
        if (!plan.kernel(launch.kernel))
          return fail(where + ": kernel '" + launch.kernel + "' is not in the kernel list");
        return launch;
      };
      for (const json &l : e.at("launches")) {
        std::string where = "@" + entry.name + " launch " +
                            std::to_string(entry.launches.size()) + " (" +
                            l.value("op", std::string("?")) + ")";
        Result<Launch> launch = parseLaunch(l, where);
        if (!launch)
          return makeError(launch.error());
        entry.launches.push_back(launch.take());
      }
      if (e.contains("sampler")) {
        Result<Launch> sampler = parseLaunch(e.at("sampler"), "@" + entry.name + " sampler");
        if (!sampler)
          return makeError(sampler.error());
        if (sampler->op != "argmax")
          return fail("@" + entry.name + " sampler must be an argmax, not '" + sampler->op + "'");
        entry.sampler = sampler.take();
      }
      if (e.contains("random_sampler")) {
        Result<Launch> sampler =
            parseLaunch(e.at("random_sampler"), "@" + entry.name + " random sampler");
        if (!sampler)
          return makeError(sampler.error());
        if (sampler->op != "sample")
          return fail("@" + entry.name + " random sampler must be a sample, not '" +
                      sampler->op + "'");
        entry.randomSampler = sampler.take();
      }
      plan.entries.push_back(std::move(entry));
    }
    for (const char *name : {"prefill", "decode"})
      if (!plan.entry(name))
        return fail(std::string("no entry point '") + name + "'");
    return plan;
  } catch (const json::exception &e) {
    return fail(std::string("malformed JSON: ") + e.what());
  } catch (const BadValue &e) {
    return fail(e.what());
  }
}

} // namespace quamba::plan
