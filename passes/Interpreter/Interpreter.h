//===- Interpreter.h - run mamba IR on the CPU -----------------*- C++ -*-===//
//
// Executes `@prefill` / `@decode` of a mamba module op by op through the
// reference kernels (runtime/reference/Kernels.h), which define the ops'
// semantics. Calibration passes and the numerical tests run models with it;
// quamba-run uses it on CPU until the model.qmb runtime lands.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace mlir::quamba {

/// A dense row-major host tensor: fp32 values, int32 token ids, or int8
/// codes (quantized activations, caches and weights).
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;  // float tensors
  std::vector<int32_t> ints;  // integer tensors (token ids)
  std::vector<int8_t> bytes;  // int8 tensors

  bool isInteger = false;
  bool isInt8 = false;

  /// A zero-filled float tensor.
  static HostTensor floats(std::vector<int64_t> shape);
  static HostTensor tokens(std::vector<int64_t> shape, std::vector<int32_t> ids);
  /// A zero-filled int8 tensor.
  static HostTensor int8s(std::vector<int64_t> shape);
  int64_t numel() const;
};

/// The value of a float or i8 constant (dense_resource or inline dense),
/// floats widened to fp32; an error names the op and the weight.
llvm::Expected<HostTensor> evaluateConstant(arith::ConstantOp op);

class Interpreter {
public:
  /// `module` must outlive the interpreter. Weights are converted to fp32
  /// once, on first use, and shared by both entry functions.
  explicit Interpreter(ModuleOp module);
  ~Interpreter();

  /// Runs the function `name` on `args` (matching its argument types; dynamic
  /// dimensions take the arguments' sizes) and returns its results.
  llvm::Expected<std::vector<HostTensor>> run(llvm::StringRef name,
                                              std::vector<HostTensor> args);

  /// Called after every executed op other than `arith.constant` (and
  /// `func.return`), with the op's operand and result tensors in operand /
  /// result order (a null pointer for an operand the frame has no tensor
  /// for, which does not happen for verified IR). The tensors are valid only
  /// during the call. An empty function (the default) costs one branch per op.
  using Observer = std::function<void(
      Operation *op, llvm::ArrayRef<const HostTensor *> operands,
      llvm::ArrayRef<const HostTensor *> results)>;
  void setObserver(Observer observer) { this->observer = std::move(observer); }

private:
  class Frame;
  ModuleOp module;
  /// fp32 copies of weights by resource key (bf16/f16 converted).
  llvm::StringMap<std::shared_ptr<const HostTensor>> weights;
  Observer observer;
  friend class Frame;
};

} // namespace mlir::quamba
