//===- WeightRewriteTest.cpp - weight blobs read and written exactly ------===//
//
// readWeight and createWeight convert with bit operations where that is
// exact; the oracle is APFloat (round to nearest even, one rounding), on
// values that stress the rounding: ties, subnormals, overflow, values that
// are not fp32 (double rounding would differ there), NaN and infinities.
//
//===----------------------------------------------------------------------===//
#include "passes/WeightRewrite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mlir;

namespace {

std::vector<double> hardValues() {
  std::vector<double> values = {0.0, -0.0, 1.0, -1.0, 65504.0, 65520.0, 65519.99,
                                1e10, -1e10, 1e-8, 5.960464477539063e-08,
                                2.9802322387695312e-08, 1.0 + std::ldexp(1.0, -11),
                                1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40),
                                1.0 + std::ldexp(1.0, -8), 3.4e38, 3.5e38, 1e-45,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint32_t> bits32;
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int i = 0; i < 20000; ++i) {
    uint32_t b = bits32(rng);
    float f;
    std::memcpy(&f, &b, 4);
    if (!std::isnan(f))
      values.push_back(f);                         // every fp32 exponent
    values.push_back(normal(rng) * std::ldexp(1.0, i % 40 - 20)); // not fp32
  }
  return values;
}

uint64_t apfloatBits(double v, const llvm::fltSemantics &semantics) {
  llvm::APFloat rounded(v);
  bool losesInfo;
  rounded.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return rounded.bitcastToAPInt().getZExtValue();
}

/// `values` written by createWeight as f16, bf16 and f32, with each
/// element's stored bits.
struct Written {
  mutable FloatType type; // MLIR's type accessors are not const
  DenseResourceElementsAttr weight;
  std::vector<uint64_t> bits;
  std::string name() const {
    return std::to_string(type.getWidth()) + "-bit " + (type.isBF16() ? "bf16" : "ieee");
  }
};
std::vector<Written> writeEveryType(MLIRContext &context, const std::vector<double> &values) {
  Builder b(&context);
  std::vector<Written> out;
  for (FloatType type : {FloatType(b.getF16Type()), FloatType(b.getBF16Type()),
                         FloatType(b.getF32Type())}) {
    auto shaped = RankedTensorType::get({static_cast<int64_t>(values.size())}, type);
    Written w{type, quamba::createWeight(shaped, "w", values), {}};
    ArrayRef<char> data = w.weight.getRawHandle().getBlob()->getData();
    unsigned bytes = type.getWidth() / 8;
    for (size_t i = 0; i < values.size(); ++i) {
      uint64_t bits = 0;
      std::memcpy(&bits, data.data() + i * bytes, bytes);
      w.bits.push_back(bits);
    }
    out.push_back(std::move(w));
  }
  return out;
}

TEST(WeightRewrite, CreateWeightRoundsAsAPFloatForEveryFloatType) {
  MLIRContext context;
  std::vector<double> values = hardValues();
  for (const Written &w : writeEveryType(context, values))
    for (size_t i = 0; i < values.size(); ++i)
      ASSERT_EQ(w.bits[i], apfloatBits(values[i], w.type.getFloatSemantics()))
          << w.name() << " of " << values[i];
}

TEST(WeightRewrite, ReadWeightWidensExactly) {
  MLIRContext context;
  std::vector<double> values = hardValues();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  for (const Written &w : writeEveryType(context, values)) {
    FailureOr<std::vector<double>> read = quamba::readWeight(w.weight, *module);
    ASSERT_TRUE(succeeded(read));
    for (size_t i = 0; i < values.size(); ++i) {
      llvm::APFloat stored(w.type.getFloatSemantics(), llvm::APInt(w.type.getWidth(), w.bits[i]));
      bool losesInfo;
      stored.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                     &losesInfo);
      ASSERT_EQ((*read)[i], stored.convertToDouble()) << w.name() << " of " << values[i];
    }
  }
}

TEST(WeightRewrite, ReleaseFreesOnlyWeightsNoOpReferences) {
  MLIRContext context;
  context.loadDialect<arith::ArithDialect>();
  OpBuilder b(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module->getBody());
  auto type = RankedTensorType::get({4}, b.getF32Type());
  DenseResourceElementsAttr kept = quamba::createWeight(type, "kept", {1, 2, 3, 4}),
                            old = quamba::createWeight(type, "w", {5, 6, 7, 8});
  arith::ConstantOp::create(b, b.getUnknownLoc(), kept);
  arith::ConstantOp::create(b, b.getUnknownLoc(), old);
  // A rewrite supersedes `old`: the constant now reads `w_1`.
  DenseResourceElementsAttr rewritten = quamba::createWeight(type, "w", {9, 10, 11, 12});
  quamba::redirectConstants(*module, {{old.getRawHandle().getKey(), rewritten}});

  EXPECT_EQ(quamba::releaseUnreferencedWeights(*module), 4 * sizeof(float));
  EXPECT_TRUE(old.getRawHandle().getBlob()->getData().empty());
  ArrayRef<char> keptData = kept.getRawHandle().getBlob()->getData();
  ArrayRef<char> newData = rewritten.getRawHandle().getBlob()->getData();
  ASSERT_EQ(keptData.size(), 16u);
  ASSERT_EQ(newData.size(), 16u);
  float first;
  std::memcpy(&first, newData.data(), sizeof(first));
  EXPECT_EQ(first, 9.0f);
  // Nothing left to free.
  EXPECT_EQ(quamba::releaseUnreferencedWeights(*module), 0u);
}

} // namespace
