//===- ModelConfigTest.cpp - config.json parsing tests ----------------------===//
//
// Expected values are written out by hand from the fixture config.json files
// and from shared/reference/formats.md §3.3, not computed with the code under
// test.
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelConfig.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace quamba {
namespace {

const std::string kSource = "config.json";

std::string fixturePath(const std::string &name) {
  return std::string(QUAMBA_TEST_FIXTURES_DIR) + "/" + name + "/config.json";
}

/// Parses and fails the test (with the error) when the config is rejected.
ModelConfig parseOk(const std::string &json) {
  Result<ModelConfig> result = parseModelConfig(json, kSource);
  EXPECT_TRUE(result.ok()) << result.error();
  return result.ok() ? *result : ModelConfig();
}

ModelConfig loadOk(const std::string &path) {
  Result<ModelConfig> result = loadModelConfig(path);
  EXPECT_TRUE(result.ok()) << result.error();
  return result.ok() ? *result : ModelConfig();
}

//===----------------------------------------------------------------------===//
// A config as an ordered list of key -> raw JSON value, so that test cases
// can replace or drop one key of a known-good config.
//===----------------------------------------------------------------------===//

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string toJson(const Fields &fields) {
  std::string json = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i)
      json += ", ";
    json += "\"" + fields[i].first + "\": " + fields[i].second;
  }
  return json + "}";
}

Fields with(Fields fields, const std::string &key, const std::string &value) {
  for (auto &field : fields) {
    if (field.first == key) {
      field.second = value;
      return fields;
    }
  }
  fields.emplace_back(key, value);
  return fields;
}

Fields without(Fields fields, const std::string &key) {
  Fields kept;
  for (auto &field : fields)
    if (field.first != key)
      kept.push_back(field);
  return kept;
}

// The structural keys of test/fixtures/tiny_mamba1_hf/config.json.
const Fields kHfMamba1 = {
    {"architectures", R"(["MambaForCausalLM"])"},
    {"model_type", R"("mamba")"},
    {"hidden_size", "64"},
    {"num_hidden_layers", "2"},
    {"vocab_size", "256"},
    {"state_size", "16"},
    {"expand", "2"},
    {"intermediate_size", "128"},
    {"conv_kernel", "4"},
    {"time_step_rank", "4"},
    {"hidden_act", R"("silu")"},
    {"layer_norm_epsilon", "1e-05"},
    {"use_bias", "false"},
    {"use_conv_bias", "true"},
    {"tie_word_embeddings", "true"},
};

// The structural keys of test/fixtures/tiny_mamba2_g2_hf/config.json.
const Fields kHfMamba2 = {
    {"architectures", R"(["Mamba2ForCausalLM"])"},
    {"model_type", R"("mamba2")"},
    {"hidden_size", "64"},
    {"num_hidden_layers", "2"},
    {"vocab_size", "256"},
    {"state_size", "16"},
    {"num_heads", "8"},
    {"head_dim", "16"},
    {"n_groups", "2"},
    {"expand", "2"},
    {"chunk_size", "16"},
    {"conv_kernel", "4"},
    {"hidden_act", R"("silu")"},
    {"layer_norm_epsilon", "1e-05"},
    {"time_step_limit", R"([0.0, {"__float__": "Infinity"}])"},
    {"time_step_rank", "4"},
    {"use_bias", "false"},
    {"use_conv_bias", "true"},
    {"tie_word_embeddings", "true"},
};

// test/fixtures/tiny_mamba2_g2_state_spaces/config.json, with its ssm_cfg
// kept as one raw value.
const std::string kTinySsmCfg =
    R"({"layer": "Mamba2", "d_state": 16, "headdim": 16, "ngroups": 2,
        "chunk_size": 16, "expand": 2, "d_conv": 4})";
const Fields kStateSpacesMamba2 = {
    {"d_model", "64"},
    {"d_intermediate", "0"},
    {"n_layer", "2"},
    {"vocab_size", "256"},
    {"ssm_cfg", kTinySsmCfg},
    {"attn_layer_idx", "[]"},
    {"attn_cfg", "{}"},
    {"rms_norm", "true"},
    {"residual_in_fp32", "true"},
    {"fused_add_norm", "true"},
    {"pad_vocab_size_multiple", "8"},
    {"tie_embeddings", "true"},
};

//===----------------------------------------------------------------------===//
// The fixtures
//===----------------------------------------------------------------------===//

TEST(ModelConfigTest, ArchName) {
  EXPECT_EQ(archName(Arch::Mamba1), "mamba1");
  EXPECT_EQ(archName(Arch::Mamba2), "mamba2");
}

TEST(ModelConfigTest, TinyMamba1Hf) {
  ModelConfig c = loadOk(fixturePath("tiny_mamba1_hf"));
  EXPECT_EQ(c.arch, Arch::Mamba1);
  EXPECT_EQ(c.format, CheckpointFormat::HuggingFace);
  EXPECT_EQ(c.dModel, 64);
  EXPECT_EQ(c.nLayer, 2);
  EXPECT_EQ(c.vocabSize, 256);
  EXPECT_EQ(c.dState, 16);
  EXPECT_EQ(c.dConv, 4);
  EXPECT_EQ(c.expand, 2);
  EXPECT_EQ(c.dInner, 128);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_TRUE(c.tieEmbeddings);
  EXPECT_FALSE(c.useBias);
  EXPECT_TRUE(c.useConvBias);
  EXPECT_EQ(c.dtRank, 4);
  EXPECT_EQ(c.convDim(), 128);
  EXPECT_EQ(c.inProjRows(), 256); // 2E
}

/// Every field of the tiny G = 2 Mamba2 model, shared by the two fixtures of
/// it and the inline copies below.
void expectTinyMamba2G2(const ModelConfig &c) {
  EXPECT_EQ(c.arch, Arch::Mamba2);
  EXPECT_EQ(c.dModel, 64);
  EXPECT_EQ(c.nLayer, 2);
  EXPECT_EQ(c.vocabSize, 256);
  EXPECT_EQ(c.dState, 16);
  EXPECT_EQ(c.dConv, 4);
  EXPECT_EQ(c.expand, 2);
  EXPECT_EQ(c.dInner, 128);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_TRUE(c.tieEmbeddings);
  EXPECT_FALSE(c.useBias);
  EXPECT_TRUE(c.useConvBias);
  EXPECT_EQ(c.headdim, 16);
  EXPECT_EQ(c.nheads, 8);
  EXPECT_EQ(c.ngroups, 2);
  EXPECT_EQ(c.chunkSize, 16);
  EXPECT_EQ(c.dtLimitMin, 0.0);
  EXPECT_TRUE(std::isinf(c.dtLimitMax) && c.dtLimitMax > 0);
  EXPECT_FALSE(c.dHasHdim);
  EXPECT_EQ(c.convDim(), 192);     // 128 + 2*2*16
  EXPECT_EQ(c.inProjRows(), 328);  // 2*128 + 2*2*16 + 8
}

TEST(ModelConfigTest, TinyMamba2G2Hf) {
  ModelConfig c = loadOk(fixturePath("tiny_mamba2_g2_hf"));
  EXPECT_EQ(c.format, CheckpointFormat::HuggingFace);
  expectTinyMamba2G2(c);
}

TEST(ModelConfigTest, TinyMamba2G2StateSpaces) {
  ModelConfig c = loadOk(fixturePath("tiny_mamba2_g2_state_spaces"));
  EXPECT_EQ(c.format, CheckpointFormat::StateSpaces);
  expectTinyMamba2G2(c);
}

TEST(ModelConfigTest, InlineCopiesMatchTheFixtures) {
  expectTinyMamba2G2(parseOk(toJson(kHfMamba2)));
  expectTinyMamba2G2(parseOk(toJson(kStateSpacesMamba2)));
  ModelConfig m1 = parseOk(toJson(kHfMamba1));
  EXPECT_EQ(m1.arch, Arch::Mamba1);
  EXPECT_EQ(m1.dtRank, 4);
  EXPECT_EQ(m1.inProjRows(), 256);
}

TEST(ModelConfigTest, HfAndStateSpacesTinyMamba2Agree) {
  ModelConfig hf = loadOk(fixturePath("tiny_mamba2_g2_hf"));
  ModelConfig ss = loadOk(fixturePath("tiny_mamba2_g2_state_spaces"));
  EXPECT_NE(hf.format, ss.format);
  EXPECT_EQ(hf.arch, ss.arch);
  EXPECT_EQ(hf.dModel, ss.dModel);
  EXPECT_EQ(hf.nLayer, ss.nLayer);
  EXPECT_EQ(hf.vocabSize, ss.vocabSize);
  EXPECT_EQ(hf.dState, ss.dState);
  EXPECT_EQ(hf.dConv, ss.dConv);
  EXPECT_EQ(hf.expand, ss.expand);
  EXPECT_EQ(hf.dInner, ss.dInner);
  EXPECT_EQ(hf.normEps, ss.normEps);
  EXPECT_EQ(hf.tieEmbeddings, ss.tieEmbeddings);
  EXPECT_EQ(hf.useBias, ss.useBias);
  EXPECT_EQ(hf.useConvBias, ss.useConvBias);
  EXPECT_EQ(hf.headdim, ss.headdim);
  EXPECT_EQ(hf.nheads, ss.nheads);
  EXPECT_EQ(hf.ngroups, ss.ngroups);
  EXPECT_EQ(hf.chunkSize, ss.chunkSize);
  EXPECT_EQ(hf.dtLimitMin, ss.dtLimitMin);
  EXPECT_EQ(hf.dtLimitMax, ss.dtLimitMax);
  EXPECT_EQ(hf.dHasHdim, ss.dHasHdim);
  EXPECT_EQ(hf.convDim(), ss.convDim());
  EXPECT_EQ(hf.inProjRows(), ss.inProjRows());
}

TEST(ModelConfigTest, SharedBf16Mamba2) {
  const std::string path = std::string(QUAMBA_SHARED_DIR) +
                           "/fixtures/mamba2_bytes_6M_bf16/config.json";
  if (!std::ifstream(path))
    GTEST_SKIP() << path << " not present";
  ModelConfig c = loadOk(path);
  EXPECT_EQ(c.arch, Arch::Mamba2);
  EXPECT_EQ(c.format, CheckpointFormat::HuggingFace);
  EXPECT_EQ(c.dModel, 384);
  EXPECT_EQ(c.nLayer, 6);
  EXPECT_EQ(c.vocabSize, 256);
  EXPECT_EQ(c.dState, 64);
  EXPECT_EQ(c.dConv, 4);
  EXPECT_EQ(c.expand, 2);
  EXPECT_EQ(c.dInner, 768);
  EXPECT_EQ(c.headdim, 64);
  EXPECT_EQ(c.nheads, 12);
  EXPECT_EQ(c.ngroups, 1);
  EXPECT_EQ(c.chunkSize, 128);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_TRUE(c.tieEmbeddings);
  EXPECT_FALSE(c.useBias);
  EXPECT_TRUE(c.useConvBias);
  EXPECT_EQ(c.dtLimitMin, 0.0);
  EXPECT_TRUE(std::isinf(c.dtLimitMax));
  EXPECT_EQ(c.convDim(), 896);     // 768 + 2*1*64
  EXPECT_EQ(c.inProjRows(), 1676); // 2*768 + 2*1*64 + 12
}

//===----------------------------------------------------------------------===//
// Infinity spellings
//===----------------------------------------------------------------------===//

class TimeStepLimitSpelling : public ::testing::TestWithParam<const char *> {};

TEST_P(TimeStepLimitSpelling, MeansInfinity) {
  ModelConfig c = parseOk(toJson(with(kHfMamba2, "time_step_limit", GetParam())));
  EXPECT_EQ(c.dtLimitMin, 0.0);
  EXPECT_TRUE(std::isinf(c.dtLimitMax) && c.dtLimitMax > 0);
}

INSTANTIATE_TEST_SUITE_P(
    ModelConfigTest, TimeStepLimitSpelling,
    ::testing::Values(R"([0.0, {"__float__": "Infinity"}])", // transformers 5.x
                      "[0.0, Infinity]",                     // Python json, invalid JSON
                      "[0.0,Infinity]",
                      R"([0.0, "Infinity"])",
                      R"([0.0, "inf"])"));

TEST(ModelConfigTest, TimeStepLimitFiniteAndNegativeInfinity) {
  ModelConfig finite =
      parseOk(toJson(with(kHfMamba2, "time_step_limit", "[0.001, 0.1]")));
  EXPECT_DOUBLE_EQ(finite.dtLimitMin, 0.001);
  EXPECT_DOUBLE_EQ(finite.dtLimitMax, 0.1);

  for (const char *limit : {"[-Infinity, Infinity]",
                            R"([{"__float__": "-Infinity"}, "Infinity"])"}) {
    ModelConfig c = parseOk(toJson(with(kHfMamba2, "time_step_limit", limit)));
    // softplus(dt) > 0: a negative lower bound clamps nothing and becomes 0.
    EXPECT_EQ(c.dtLimitMin, 0.0) << limit;
    EXPECT_TRUE(std::isinf(c.dtLimitMax) && c.dtLimitMax > 0) << limit;
  }
}

TEST(ModelConfigTest, BareTokensInsideStringsAreLeftAlone) {
  // Quoting Infinity inside a string (or after an escaped quote) would make
  // the JSON invalid, so a successful parse shows the scanner skipped them.
  Fields fields = with(kHfMamba2, "time_step_limit", "[0.0, Infinity]");
  fields = with(fields, "note", R"("a \"quoted\" Infinity, NaN and -Infinity \\")");
  fields = with(fields, "Infinity", R"("NaN")");
  ModelConfig c = parseOk(toJson(fields));
  EXPECT_TRUE(std::isinf(c.dtLimitMax));
}

TEST(ModelConfigTest, StateSpacesDtLimit) {
  const std::string ssmCfg =
      R"({"layer": "Mamba2", "d_state": 16, "headdim": 16, "ngroups": 2,
          "dt_limit": [0.0, Infinity], "D_has_hdim": true})";
  ModelConfig c = parseOk(toJson(with(kStateSpacesMamba2, "ssm_cfg", ssmCfg)));
  EXPECT_TRUE(std::isinf(c.dtLimitMax));
  EXPECT_TRUE(c.dHasHdim);
  EXPECT_EQ(c.chunkSize, 256); // mamba_ssm default
}

//===----------------------------------------------------------------------===//
// Defaults and convention detection
//===----------------------------------------------------------------------===//

TEST(ModelConfigTest, HfMamba1Defaults) {
  const std::string json = R"({"model_type": "mamba", "hidden_size": 100,
      "num_hidden_layers": 3, "vocab_size": 1000, "state_size": 8})";
  ModelConfig c = parseOk(json);
  EXPECT_EQ(c.arch, Arch::Mamba1);
  EXPECT_EQ(c.expand, 2);
  EXPECT_EQ(c.dInner, 200);
  EXPECT_EQ(c.dConv, 4);
  EXPECT_EQ(c.dtRank, 7); // ceil(100 / 16)
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_FALSE(c.useBias);
  EXPECT_TRUE(c.useConvBias);
  EXPECT_TRUE(c.tieEmbeddings);

  const std::string autoRank = R"({"model_type": "mamba", "hidden_size": 100,
      "num_hidden_layers": 3, "vocab_size": 1000, "state_size": 8,
      "time_step_rank": "auto", "expand": 3, "use_bias": true})";
  ModelConfig a = parseOk(autoRank);
  EXPECT_EQ(a.dtRank, 7);
  EXPECT_EQ(a.dInner, 300);
  EXPECT_TRUE(a.useBias);
}

TEST(ModelConfigTest, HfMamba2Defaults) {
  const std::string json = R"({"model_type": "mamba2", "hidden_size": 64,
      "num_hidden_layers": 1, "vocab_size": 10, "state_size": 16,
      "num_heads": 4, "head_dim": 32, "n_groups": 1})";
  ModelConfig c = parseOk(json);
  EXPECT_EQ(c.arch, Arch::Mamba2);
  EXPECT_EQ(c.expand, 2);
  EXPECT_EQ(c.dConv, 4);
  EXPECT_EQ(c.chunkSize, 256);
  EXPECT_EQ(c.dtLimitMin, 0.0);
  EXPECT_TRUE(std::isinf(c.dtLimitMax));
  // transformers' Mamba2Config defaults to an untied lm_head (Codestral).
  EXPECT_FALSE(c.tieEmbeddings);
  EXPECT_EQ(c.dtRank, 0); // time_step_rank is unused by Mamba2
}

TEST(ModelConfigTest, StateSpacesMamba2Defaults) {
  const std::string json = R"({"d_model": 256, "n_layer": 2,
      "vocab_size": 1001, "ssm_cfg": {"layer": "Mamba2"}})";
  ModelConfig c = parseOk(json);
  EXPECT_EQ(c.arch, Arch::Mamba2);
  EXPECT_EQ(c.format, CheckpointFormat::StateSpaces);
  EXPECT_EQ(c.vocabSize, 1008); // padded to a multiple of 8
  EXPECT_EQ(c.dState, 128);
  EXPECT_EQ(c.dConv, 4);
  EXPECT_EQ(c.expand, 2);
  EXPECT_EQ(c.dInner, 512);
  EXPECT_EQ(c.headdim, 64);
  EXPECT_EQ(c.nheads, 8);
  EXPECT_EQ(c.ngroups, 1);
  EXPECT_EQ(c.chunkSize, 256);
  EXPECT_FALSE(c.dHasHdim);
  EXPECT_FALSE(c.useBias);
  EXPECT_TRUE(c.useConvBias);
  EXPECT_TRUE(c.tieEmbeddings);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_TRUE(std::isinf(c.dtLimitMax));
}

TEST(ModelConfigTest, StateSpacesMamba1IsTheDefaultLayer) {
  // No ssm_cfg at all: d_model + n_layer identify mamba_ssm, layer Mamba1.
  ModelConfig c = parseOk(R"({"d_model": 64, "n_layer": 2, "vocab_size": 250,
                              "tie_embeddings": false})");
  EXPECT_EQ(c.arch, Arch::Mamba1);
  EXPECT_EQ(c.format, CheckpointFormat::StateSpaces);
  EXPECT_EQ(c.vocabSize, 256);
  EXPECT_EQ(c.dState, 16);
  EXPECT_EQ(c.dtRank, 4);
  EXPECT_FALSE(c.tieEmbeddings);
}

TEST(ModelConfigTest, ArchitecturesWithoutModelType) {
  ModelConfig m2 = parseOk(toJson(without(kHfMamba2, "model_type")));
  EXPECT_EQ(m2.arch, Arch::Mamba2);
  EXPECT_EQ(m2.format, CheckpointFormat::HuggingFace);
  ModelConfig m1 = parseOk(toJson(without(kHfMamba1, "model_type")));
  EXPECT_EQ(m1.arch, Arch::Mamba1);
  EXPECT_EQ(m1.format, CheckpointFormat::HuggingFace);
}

TEST(ModelConfigTest, ModelTypeWinsOverLegacyKeys) {
  Fields fields = with(kHfMamba1, "d_model", "9999");
  fields = with(fields, "n_layer", "7");
  fields = with(fields, "ssm_cfg", R"({"layer": "Mamba2"})");
  fields = with(fields, "rms_norm", "false");
  fields = with(fields, "pad_vocab_size_multiple", "1000");
  ModelConfig c = parseOk(toJson(fields));
  EXPECT_EQ(c.arch, Arch::Mamba1);
  EXPECT_EQ(c.format, CheckpointFormat::HuggingFace);
  EXPECT_EQ(c.dModel, 64);
  EXPECT_EQ(c.nLayer, 2);
  EXPECT_EQ(c.vocabSize, 256);
}

//===----------------------------------------------------------------------===//
// Real public shapes (formats.md §3.3)
//===----------------------------------------------------------------------===//

// state-spaces/mamba-2.8b-hf: transformers 4.39 output, legacy keys included.
const char *const kHfMamba28b = R"({
  "architectures": ["MambaForCausalLM"], "bos_token_id": 0, "conv_kernel": 4,
  "d_model": 2560, "eos_token_id": 0, "expand": 2, "fused_add_norm": true,
  "hidden_act": "silu", "hidden_size": 2560, "initializer_range": 0.1,
  "intermediate_size": 5120, "layer_norm_epsilon": 1e-05,
  "model_type": "mamba", "n_layer": 64, "num_hidden_layers": 64,
  "pad_token_id": 0, "pad_vocab_size_multiple": 8,
  "rescale_prenorm_residual": false, "residual_in_fp32": true,
  "rms_norm": true, "ssm_cfg": {}, "state_size": 16,
  "time_step_floor": 0.0001, "time_step_init_scheme": "random",
  "time_step_max": 0.1, "time_step_min": 0.001, "time_step_rank": 160,
  "time_step_scale": 1.0, "torch_dtype": "float32",
  "transformers_version": "4.39.0.dev0", "use_bias": false,
  "use_cache": true, "use_conv_bias": true, "vocab_size": 50280
})";

TEST(ModelConfigTest, HfMamba28b) {
  ModelConfig c = parseOk(kHfMamba28b);
  EXPECT_EQ(c.arch, Arch::Mamba1);
  EXPECT_EQ(c.format, CheckpointFormat::HuggingFace);
  EXPECT_EQ(c.dModel, 2560);
  EXPECT_EQ(c.nLayer, 64);
  EXPECT_EQ(c.vocabSize, 50280);
  EXPECT_EQ(c.dInner, 5120);
  EXPECT_EQ(c.dtRank, 160);
  EXPECT_EQ(c.dState, 16);
  EXPECT_EQ(c.inProjRows(), 10240);
  EXPECT_EQ(c.convDim(), 5120);
}

// state-spaces/mamba2-2.7b config.json (mamba_ssm MambaConfig).
const char *const kStateSpacesMamba2_27b = R"({
  "d_model": 2560, "d_intermediate": 0, "n_layer": 64, "vocab_size": 50277,
  "ssm_cfg": {"layer": "Mamba2"}, "attn_layer_idx": [], "attn_cfg": {},
  "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true,
  "pad_vocab_size_multiple": 16, "tie_embeddings": true
})";

TEST(ModelConfigTest, StateSpacesMamba2_27b) {
  ModelConfig c = parseOk(kStateSpacesMamba2_27b);
  EXPECT_EQ(c.arch, Arch::Mamba2);
  EXPECT_EQ(c.format, CheckpointFormat::StateSpaces);
  EXPECT_EQ(c.dModel, 2560);
  EXPECT_EQ(c.nLayer, 64);
  EXPECT_EQ(c.vocabSize, 50288);
  EXPECT_EQ(c.dState, 128);
  EXPECT_EQ(c.headdim, 64);
  EXPECT_EQ(c.nheads, 80);
  EXPECT_EQ(c.ngroups, 1);
  EXPECT_EQ(c.chunkSize, 256);
  EXPECT_EQ(c.convDim(), 5376);
  EXPECT_EQ(c.inProjRows(), 10576);
}

// mistralai/Mamba-Codestral-7B-v0.1 config.json as written by transformers
// 4.44: bare Infinity, and norm_before_gate = true that the model ignores.
const char *const kCodestral = R"({
  "architectures": ["Mamba2ForCausalLM"], "bos_token_id": 0,
  "chunk_size": 256, "conv_kernel": 4, "eos_token_id": 0, "expand": 2,
  "head_dim": 64, "hidden_act": "silu", "hidden_size": 4096,
  "initializer_range": 0.1, "intermediate_size": 8192,
  "layer_norm_epsilon": 1e-05, "model_type": "mamba2", "n_groups": 8,
  "norm_before_gate": true, "num_heads": 128, "num_hidden_layers": 64,
  "pad_token_id": 0, "rescale_prenorm_residual": false,
  "residual_in_fp32": true, "rms_norm": true, "state_size": 128,
  "tie_word_embeddings": false, "time_step_floor": 0.0001,
  "time_step_init_scheme": "random", "time_step_limit": [0.0, Infinity],
  "time_step_max": 0.1, "time_step_min": 0.001, "time_step_rank": 256,
  "time_step_scale": 1.0, "torch_dtype": "bfloat16",
  "transformers_version": "4.44.0.dev0", "use_bias": false,
  "use_cache": true, "use_conv_bias": true, "vocab_size": 32768
})";

TEST(ModelConfigTest, HfCodestral7b) {
  ModelConfig c = parseOk(kCodestral);
  EXPECT_EQ(c.arch, Arch::Mamba2);
  EXPECT_EQ(c.dModel, 4096);
  EXPECT_EQ(c.nLayer, 64);
  EXPECT_EQ(c.vocabSize, 32768);
  EXPECT_EQ(c.dState, 128);
  EXPECT_EQ(c.headdim, 64);
  EXPECT_EQ(c.nheads, 128);
  EXPECT_EQ(c.ngroups, 8);
  EXPECT_EQ(c.dInner, 8192);
  EXPECT_FALSE(c.tieEmbeddings);
  EXPECT_TRUE(std::isinf(c.dtLimitMax));
  EXPECT_EQ(c.convDim(), 10240);
  EXPECT_EQ(c.inProjRows(), 18560);
}

struct Mamba1Shape {
  int64_t d, layers, dInner, dtRank, inProjRows;
};

TEST(ModelConfigTest, StateSpacesMamba1Family) {
  // formats.md §3.3, Mamba1 table; mamba_ssm configs with vocab 50277.
  for (const Mamba1Shape &s : {Mamba1Shape{768, 24, 1536, 48, 3072},
                               Mamba1Shape{1024, 48, 2048, 64, 4096},
                               Mamba1Shape{1536, 48, 3072, 96, 6144},
                               Mamba1Shape{2048, 48, 4096, 128, 8192},
                               Mamba1Shape{2560, 64, 5120, 160, 10240}}) {
    std::string json = R"({"d_model": )" + std::to_string(s.d) +
                       R"(, "n_layer": )" + std::to_string(s.layers) +
                       R"(, "vocab_size": 50277, "ssm_cfg": {},
        "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true,
        "pad_vocab_size_multiple": 8})";
    ModelConfig c = parseOk(json);
    SCOPED_TRACE(s.d);
    EXPECT_EQ(c.arch, Arch::Mamba1);
    EXPECT_EQ(c.vocabSize, 50280);
    EXPECT_EQ(c.dInner, s.dInner);
    EXPECT_EQ(c.dtRank, s.dtRank);
    EXPECT_EQ(c.inProjRows(), s.inProjRows);
    EXPECT_EQ(c.dtRank + 2 * c.dState, s.dtRank + 32); // x_proj rows R + 2N
  }
}

struct Mamba2Shape {
  int64_t d, layers, nheads, convDim, inProjRows;
};

TEST(ModelConfigTest, StateSpacesMamba2Family) {
  // formats.md §3.3, Mamba2 table.
  for (const Mamba2Shape &s : {Mamba2Shape{768, 24, 24, 1792, 3352},
                               Mamba2Shape{1024, 48, 32, 2304, 4384},
                               Mamba2Shape{1536, 48, 48, 3328, 6448},
                               Mamba2Shape{2048, 48, 64, 4352, 8512},
                               Mamba2Shape{2560, 64, 80, 5376, 10576}}) {
    std::string json = R"({"d_model": )" + std::to_string(s.d) +
                       R"(, "d_intermediate": 0, "n_layer": )" +
                       std::to_string(s.layers) +
                       R"(, "vocab_size": 50277, "ssm_cfg": {"layer": "Mamba2"},
        "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": true,
        "pad_vocab_size_multiple": 16, "tie_embeddings": true})";
    ModelConfig c = parseOk(json);
    SCOPED_TRACE(s.d);
    EXPECT_EQ(c.arch, Arch::Mamba2);
    EXPECT_EQ(c.nLayer, s.layers);
    EXPECT_EQ(c.vocabSize, 50288);
    EXPECT_EQ(c.nheads, s.nheads);
    EXPECT_EQ(c.convDim(), s.convDim);
    EXPECT_EQ(c.inProjRows(), s.inProjRows);
  }
}

//===----------------------------------------------------------------------===//
// Bad inputs
//===----------------------------------------------------------------------===//

struct BadCase {
  const char *name;
  std::string json;
  std::vector<std::string> expected; // substrings of the message
};

std::ostream &operator<<(std::ostream &os, const BadCase &c) {
  return os << c.name;
}

std::string ssWithSsm(const std::string &key, const std::string &value) {
  // kTinySsmCfg with one key added (later keys win in nlohmann-json).
  std::string ssmCfg = kTinySsmCfg;
  ssmCfg.insert(ssmCfg.size() - 1, ", \"" + key + "\": " + value);
  return toJson(with(kStateSpacesMamba2, "ssm_cfg", ssmCfg));
}

std::vector<BadCase> badCases() {
  const std::string m1 = toJson(kHfMamba1);
  return {
      {"InvalidJson", R"({"model_type": "mamba",)", {"invalid JSON", "parse error"}},
      {"NotAnObject", "[1, 2, 3]", {"expected a JSON object at the top level, got array"}},
      {"EmptyInput", "", {"invalid JSON"}},
      {"MissingNumHeads", toJson(without(kHfMamba2, "num_heads")),
       {"missing required key \"num_heads\" (Mamba2ForCausalLM)"}},
      {"MissingNGroups", toJson(without(kHfMamba2, "n_groups")),
       {"missing required key \"n_groups\" (Mamba2ForCausalLM)"}},
      {"MissingHeadDim", toJson(without(kHfMamba2, "head_dim")),
       {"missing required key \"head_dim\""}},
      {"MissingStateSize", toJson(without(kHfMamba1, "state_size")),
       {"missing required key \"state_size\" (MambaForCausalLM)"}},
      {"MissingHiddenSize", toJson(without(kHfMamba1, "hidden_size")),
       {"missing required key \"hidden_size\" (MambaForCausalLM)"}},
      {"MissingDModel", toJson(without(kStateSpacesMamba2, "d_model")),
       {"missing required key \"d_model\" (mamba_ssm MambaConfig)"}},
      {"MissingVocabStateSpaces", toJson(without(kStateSpacesMamba2, "vocab_size")),
       {"missing required key \"vocab_size\" (mamba_ssm MambaConfig)"}},
      {"StringForInteger", toJson(with(kHfMamba2, "hidden_size", R"("64")")),
       {"\"hidden_size\" must be a positive integer, got \"64\""}},
      {"StringForBool", toJson(with(kHfMamba1, "use_bias", R"("no")")),
       {"\"use_bias\" must be true or false, got \"no\""}},
      {"StringForEps", toJson(with(kHfMamba1, "layer_norm_epsilon", R"("small")")),
       {"\"layer_norm_epsilon\" must be a positive finite number, got \"small\""}},
      {"NegativeEps", toJson(with(kHfMamba1, "layer_norm_epsilon", "-1e-5")),
       {"\"layer_norm_epsilon\" must be a positive finite number"}},
      {"NegativeSize", toJson(with(kHfMamba2, "hidden_size", "-3")),
       {"\"hidden_size\" must be a positive integer, got -3"}},
      {"ZeroLayers", toJson(with(kHfMamba1, "num_hidden_layers", "0")),
       {"\"num_hidden_layers\" must be a positive integer, got 0"}},
      {"FractionalExpand", toJson(with(kHfMamba1, "expand", "1.5")),
       {"\"expand\" must be a positive integer, got 1.5"}},
      {"NullRequired", toJson(with(kHfMamba1, "vocab_size", "null")),
       {"\"vocab_size\" must be a positive integer, got null"}},
      {"HugeSize", toJson(with(kHfMamba1, "vocab_size", "1000000000000")),
       {"\"vocab_size\" must be a positive integer no larger than 1073741824"}},
      {"HugeUnsigned", toJson(with(kHfMamba2, "state_size", "18446744073709551615")),
       {"\"state_size\" must be a positive integer no larger than"}},
      {"InconsistentIntermediateSize", toJson(with(kHfMamba1, "intermediate_size", "130")),
       {"intermediate_size (130) != expand * hidden_size (2 * 64 = 128)"}},
      {"HeadsTimesHeaddimMismatch", toJson(with(kHfMamba2, "head_dim", "15")),
       {"hidden_size * expand (64 * 2 = 128) != num_heads * head_dim (8 * 15 = 120)"}},
      {"GroupsDoNotDivideHeads",
       toJson(with(with(with(kHfMamba2, "n_groups", "3"), "num_heads", "4"), "head_dim", "32")),
       {"n_groups (3) does not divide num_heads (4)"}},
      {"StateSpacesHeaddimDoesNotDivide", ssWithSsm("headdim", "48"),
       {"d_inner (expand * d_model = 2 * 64 = 128) is not a multiple of ssm_cfg.headdim (48)"}},
      {"StateSpacesGroupsDoNotDivideHeads", ssWithSsm("ngroups", "3"),
       {"ssm_cfg.ngroups (3) does not divide nheads (d_inner / headdim = 128 / 16 = 8)"}},
      {"AttentionLayers", toJson(with(kStateSpacesMamba2, "attn_layer_idx", "[1]")),
       {"\"attn_layer_idx\" is [1]", "attention layers are not supported"}},
      {"AttentionLayersNotAList", toJson(with(kStateSpacesMamba2, "attn_layer_idx", "{}")),
       {"\"attn_layer_idx\" must be a list, got {}"}},
      {"MlpLayers", toJson(with(kStateSpacesMamba2, "d_intermediate", "256")),
       {"\"d_intermediate\" is 256", "MLP layers are not supported"}},
      {"LayerNormBlocks", toJson(with(kStateSpacesMamba2, "rms_norm", "false")),
       {"\"rms_norm\" is false", "LayerNorm"}},
      {"NormBeforeGate", ssWithSsm("norm_before_gate", "true"),
       {"\"ssm_cfg.norm_before_gate\" is true", "norm_before_gate = false"}},
      {"NoGatedNormStateSpaces", ssWithSsm("rmsnorm", "false"),
       {"\"ssm_cfg.rmsnorm\" is false"}},
      {"NoGatedNormHf", toJson(with(kHfMamba2, "rms_norm", "false")),
       {"\"rms_norm\" is false", "gated RMSNorm"}},
      {"DSsmMlpChannels", ssWithSsm("d_ssm", "64"),
       {"ssm_cfg.d_ssm (64) != d_inner (128)"}},
      {"SsmCfgWrongType", ssWithSsm("d_state", R"("16")"),
       {"\"ssm_cfg.d_state\" must be a positive integer, got \"16\""}},
      {"SsmCfgNotAnObject", toJson(with(kStateSpacesMamba2, "ssm_cfg", R"("Mamba2")")),
       {"\"ssm_cfg\" must be an object, got \"Mamba2\""}},
      {"Mamba3Layer", ssWithSsm("layer", R"("Mamba3")"),
       {"\"ssm_cfg.layer\" is \"Mamba3\"", "unsupported mixer"}},
      {"PadMultipleZero", toJson(with(kStateSpacesMamba2, "pad_vocab_size_multiple", "0")),
       {"\"pad_vocab_size_multiple\" must be a positive integer, got 0"}},
      {"UnknownModelType", toJson(with(kHfMamba1, "model_type", R"("falcon_mamba")")),
       {"unsupported model_type \"falcon_mamba\""}},
      {"ModelTypeNotString", toJson(with(kHfMamba1, "model_type", "2")),
       {"\"model_type\" must be a string, got 2"}},
      {"UnknownConvention", R"({"hidden_size": 64, "architectures": ["LlamaForCausalLM"]})",
       {"cannot tell the checkpoint convention"}},
      {"LimitOneElement", toJson(with(kHfMamba2, "time_step_limit", "[0.0]")),
       {"\"time_step_limit\" must be a pair [min, max]", "got [0.0]"}},
      {"LimitNotAList", toJson(with(kHfMamba2, "time_step_limit", R"("inf")")),
       {"\"time_step_limit\" must be a pair [min, max]"}},
      {"LimitBadFloatObject",
       toJson(with(kHfMamba2, "time_step_limit", R"([0.0, {"__float__": "Big"}])")),
       {"\"time_step_limit\" must be a pair [min, max]"}},
      {"LimitBadString", toJson(with(kHfMamba2, "time_step_limit", R"([0.0, "lots"])")),
       {"\"time_step_limit\" must be a pair [min, max]"}},
      {"LimitReversed", toJson(with(kHfMamba2, "time_step_limit", "[1.0, 0.5]")),
       {"\"time_step_limit\" must satisfy min <= max"}},
      {"LimitNaN", toJson(with(kHfMamba2, "time_step_limit", "[NaN, 1.0]")),
       {"\"time_step_limit\" must satisfy min <= max with no NaN"}},
      {"StateSpacesDtLimit", ssWithSsm("dt_limit", "[0.0, 1.0, 2.0]"),
       {"\"ssm_cfg.dt_limit\" must be a pair [min, max]"}},
      {"NotSilu", toJson(with(kHfMamba1, "hidden_act", R"("gelu")")),
       {"\"hidden_act\" must be \"silu\"", "got \"gelu\""}},
      {"BadTimeStepRank", toJson(with(kHfMamba1, "time_step_rank", R"("big")")),
       {"\"time_step_rank\" must be a positive integer or \"auto\", got \"big\""}},
      {"BareTokenNotAllowedElsewhere", toJson(with(kHfMamba1, "hidden_size", "Infinity")),
       {"\"hidden_size\" must be a positive integer, got \"Infinity\""}},
  };
}

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, IsRejectedWithAMessage) {
  const BadCase &c = GetParam();
  Result<ModelConfig> result = ModelConfig();
  ASSERT_NO_THROW(result = parseModelConfig(c.json, kSource));
  ASSERT_FALSE(result.ok()) << "accepted: " << c.json;
  const std::string &message = result.error();
  EXPECT_EQ(message.rfind(kSource + ": ", 0), 0u) << message;
  for (const std::string &part : c.expected)
    EXPECT_NE(message.find(part), std::string::npos)
        << "expected \"" << part << "\" in: " << message;
}

INSTANTIATE_TEST_SUITE_P(ModelConfigTest, BadConfig,
                         ::testing::ValuesIn(badCases()),
                         [](const ::testing::TestParamInfo<BadCase> &info) {
                           return std::string(info.param.name);
                         });

TEST(ModelConfigTest, UnreadableFile) {
  const std::string missing = "/nonexistent-quamba-dir/config.json";
  Result<ModelConfig> result = loadModelConfig(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find(missing), std::string::npos) << result.error();
  EXPECT_NE(result.error().find("cannot open"), std::string::npos)
      << result.error();

  // A directory opens on Linux but cannot be read.
  const std::string dir = QUAMBA_TEST_FIXTURES_DIR;
  Result<ModelConfig> dirResult = loadModelConfig(dir);
  ASSERT_FALSE(dirResult.ok());
  EXPECT_NE(dirResult.error().find(dir), std::string::npos) << dirResult.error();
}

TEST(ModelConfigTest, LoadErrorsNameThePath) {
  // parseModelConfig's `source` is the path when called through load.
  const std::string path = fixturePath("tiny_mamba2_g2_hf");
  Result<ModelConfig> ok = loadModelConfig(path);
  ASSERT_TRUE(ok.ok()) << ok.error();
  Result<ModelConfig> bad = parseModelConfig("{", path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind(path + ": invalid JSON", 0), 0u) << bad.error();
}

TEST(ModelConfigTest, EveryTruncationIsAnErrorNotACrash) {
  const std::string text = kCodestral;
  for (size_t length = 0; length < text.size(); ++length) {
    Result<ModelConfig> result = ModelConfig();
    ASSERT_NO_THROW(result = parseModelConfig(text.substr(0, length), kSource));
    EXPECT_FALSE(result.ok()) << length;
  }
}

} // namespace
} // namespace quamba
