//===- WeightRewriteTest.cpp - weight blobs read and written exactly ------===//
//
// readWeight and createWeight convert with bit operations where that is
// exact; the oracle is APFloat (round to nearest even, one rounding), on
// values that stress the rounding: ties, subnormals, overflow, values that
// are not fp32 (double rounding would differ there), NaN and infinities.
//
//===----------------------------------------------------------------------===//
#include "passes/WeightRewrite.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
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

TEST(WeightRewrite, CreateWeightRoundsAsAPFloatForEveryFloatType) {
  MLIRContext context;
  Builder b(&context);
  std::vector<double> values = hardValues();
  for (FloatType type : {FloatType(b.getF16Type()), FloatType(b.getBF16Type()),
                         FloatType(b.getF32Type())}) {
    auto shaped = RankedTensorType::get({static_cast<int64_t>(values.size())}, type);
    DenseResourceElementsAttr weight = quamba::createWeight(shaped, "w", values);
    ArrayRef<char> data = weight.getRawHandle().getBlob()->getData();
    unsigned bytes = type.getWidth() / 8;
    for (size_t i = 0; i < values.size(); ++i) {
      uint64_t bits = 0;
      std::memcpy(&bits, data.data() + i * bytes, bytes);
      ASSERT_EQ(bits, apfloatBits(values[i], type.getFloatSemantics()))
          << type.getWidth() << "-bit " << (type.isBF16() ? "bf16" : "ieee") << " of " << values[i];
    }
  }
}

TEST(WeightRewrite, ReadWeightWidensExactly) {
  MLIRContext context;
  Builder b(&context);
  std::vector<double> values = hardValues();
  for (FloatType type : {FloatType(b.getF16Type()), FloatType(b.getBF16Type()),
                         FloatType(b.getF32Type())}) {
    auto shaped = RankedTensorType::get({static_cast<int64_t>(values.size())}, type);
    DenseResourceElementsAttr weight = quamba::createWeight(shaped, "w", values);
    OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
    FailureOr<std::vector<double>> read = quamba::readWeight(weight, *module);
    ASSERT_TRUE(succeeded(read));
    ArrayRef<char> data = weight.getRawHandle().getBlob()->getData();
    unsigned bytes = type.getWidth() / 8;
    for (size_t i = 0; i < values.size(); ++i) {
      uint64_t bits = 0;
      std::memcpy(&bits, data.data() + i * bytes, bytes);
      llvm::APFloat stored(type.getFloatSemantics(), llvm::APInt(bytes * 8, bits));
      bool losesInfo;
      stored.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                     &losesInfo);
      ASSERT_EQ((*read)[i], stored.convertToDouble()) << type.getWidth() << "-bit " << (type.isBF16() ? "bf16" : "ieee") << " of " << values[i];
    }
  }
}

} // namespace
