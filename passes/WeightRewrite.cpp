//===- WeightRewrite.cpp - read and rewrite dense_resource weights --------===//
#include "passes/WeightRewrite.h"
#include "runtime/Float16.h"
#include "runtime/reference/FloatSemantics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace {

/// APFloat semantics of a weight element type, or null if unsupported.
const llvm::fltSemantics *getSemantics(Type type) {
  if (auto floatType = dyn_cast<FloatType>(type))
    if (floatType.isF16() || floatType.isBF16() || floatType.isF32() ||
        floatType.isF64())
      return &floatType.getFloatSemantics();
  return nullptr;
}

constexpr uint64_t kNoFastPath = ~uint64_t{0};

/// The bits of v rounded to nearest even in `element` by bit operations, or
/// kNoFastPath. f32 is the hardware's double -> float conversion (round to
/// nearest even); f16 and bf16 take that path only when v is an fp32 value,
/// so that there is one rounding, as APFloat's.
uint64_t roundedBits(Type element, double v) {
  if (element.isF64()) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    return bits;
  }
  float f = static_cast<float>(v);
  if (element.isF32())
    return ::quamba::ref::floatBits(f);
  if (static_cast<double>(f) != v || std::isnan(f))
    return kNoFastPath;
  if (element.isF16())
    return ::quamba::floatToHalf(f);
  if (element.isBF16()) {
    uint32_t bits = ::quamba::ref::floatBits(f);
    return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  }
  return kNoFastPath;
}

} // namespace

DenseResourceElementsAttr mlir::quamba::getResourceWeight(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return nullptr;
  return dyn_cast<DenseResourceElementsAttr>(constant.getValue());
}

FailureOr<std::vector<double>>
mlir::quamba::readWeight(DenseResourceElementsAttr weight, Operation *diagOp) {
  ShapedType type = weight.getType();
  const llvm::fltSemantics *semantics = getSemantics(type.getElementType());
  if (!semantics)
    return diagOp->emitOpError("weight '")
           << weight.getRawHandle().getKey() << "' has element type "
           << type.getElementType() << "; expected f16, bf16, f32 or f64";
  AsmResourceBlob *blob = weight.getRawHandle().getBlob();
  unsigned bytes = type.getElementTypeBitWidth() / 8;
  int64_t count = type.getNumElements();
  if (!blob || blob->getData().size() != static_cast<size_t>(count * bytes))
    return diagOp->emitOpError("weight '")
           << weight.getRawHandle().getKey() << "' has no blob of "
           << count * bytes << " bytes";
  ArrayRef<char> data = blob->getData();
  std::vector<double> values(count);
  // Widening is exact, so bit operations give APFloat's values; they are
  // ~50x faster, which matters at billions of weights.
  Type element = type.getElementType();
  for (int64_t i = 0; i < count; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, data.data() + i * bytes, bytes); // little-endian host
    if (element.isF32())
      values[i] = ::quamba::ref::bitsFloat(static_cast<uint32_t>(bits));
    else if (element.isF16())
      values[i] = ::quamba::halfToFloat(static_cast<uint16_t>(bits));
    else if (element.isBF16())
      values[i] = ::quamba::ref::bitsFloat(static_cast<uint32_t>(bits) << 16);
    else
      std::memcpy(&values[i], &bits, sizeof(double));
  }
  return values;
}

StringRef mlir::quamba::resourceBaseName(StringRef key) {
  while (true) {
    size_t underscore = key.rfind('_');
    if (underscore == StringRef::npos || underscore == 0 ||
        underscore + 1 == key.size())
      return key;
    StringRef suffix = key.drop_front(underscore + 1);
    if (!llvm::all_of(suffix, llvm::isDigit))
      return key;
    key = key.take_front(underscore);
  }
}

DenseResourceElementsAttr
mlir::quamba::createWeight(ShapedType type, StringRef name,
                           ArrayRef<double> values) {
  const llvm::fltSemantics *semantics = getSemantics(type.getElementType());
  assert(semantics && "createWeight: unsupported element type");
  unsigned bytes = type.getElementTypeBitWidth() / 8;
  std::vector<char> data(values.size() * bytes);
  Type element = type.getElementType();
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t bits = roundedBits(element, values[i]);
    if (bits == kNoFastPath) {
      llvm::APFloat rounded(values[i]);
      bool losesInfo;
      rounded.convert(*semantics, llvm::APFloat::rmNearestTiesToEven,
                      &losesInfo);
      bits = rounded.bitcastToAPInt().getZExtValue();
    }
    std::memcpy(data.data() + i * bytes, &bits, bytes);
  }
  return DenseResourceElementsAttr::get(
      type, resourceBaseName(name),
      HeapAsmResourceBlob::allocateAndCopyWithAlign(data, bytes,
                                                    /*dataIsMutable=*/false));
}

void mlir::quamba::redirectConstants(
    ModuleOp module,
    const llvm::StringMap<DenseResourceElementsAttr> &replacements) {
  module.walk([&](arith::ConstantOp constant) {
    auto weight = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
    if (!weight)
      return;
    auto it = replacements.find(weight.getRawHandle().getKey());
    if (it == replacements.end())
      return;
    constant.setValueAttr(it->second);
    // A cast weight (quamba-cast-weights) changes the constant's type; its
    // readers accept any float tensor.
    constant.getResult().setType(it->second.getType());
  });
}

size_t mlir::quamba::releaseUnreferencedWeights(ModuleOp module) {
  llvm::StringSet<> referenced;
  module->walk([&](Operation *op) {
    op->getAttrDictionary().walk([&](DenseResourceElementsAttr attr) {
      referenced.insert(attr.getRawHandle().getKey());
    });
  });
  DialectResourceBlobManager &manager =
      DenseResourceElementsHandle::getManagerInterface(module.getContext()).getBlobManager();
  std::vector<std::string> unreferenced;
  manager.getBlobMap([&](const llvm::StringMap<DialectResourceBlobManager::BlobEntry> &blobs) {
    for (const auto &entry : blobs)
      if (!referenced.contains(entry.getKey()) && entry.getValue().getBlob() &&
          !entry.getValue().getBlob()->getData().empty())
        unreferenced.push_back(entry.getKey().str());
  });
  size_t freed = 0;
  for (const std::string &key : unreferenced)
    if (DialectResourceBlobManager::BlobEntry *entry = manager.lookup(key)) {
      freed += entry->getBlob()->getData().size();
      entry->setBlob(AsmResourceBlob());
    }
  return freed;
}

DenseResourceElementsAttr
mlir::quamba::createBlobWeight(ShapedType type, StringRef name,
                               ArrayRef<char> data, size_t alignment) {
  return DenseResourceElementsAttr::get(
      type, resourceBaseName(name),
      HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignment,
                                                    /*dataIsMutable=*/false));
}
