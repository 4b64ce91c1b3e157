//===- CalibrationText.h - calibration windows from a text file -*- C++ -*-===//
//
// The token windows every data-driven pass runs the model on
// (quamba-calibrate, quamba-gptq, the W4AX search): the text is tokenized
// and `samples` windows of `seqlen` tokens are taken at evenly spaced,
// non-overlapping starts, so the same file and options give the same data.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::quamba {

struct CalibrationText {
  std::string data;      ///< the text file
  std::string tokenizer; ///< tokenizer.json; empty: bytes (256-row tables)
  int64_t samples = 0;
  int64_t seqlen = 0;
};

/// Windows `i = 0 .. samples-1` start at `floor(i * (T - seqlen) /
/// (samples - 1))` (0 for one sample) in the `T` token ids of the text.
/// Errors (prefixed by `pass`) for an unreadable file or tokenizer, a
/// tokenizer whose ids exceed the embedding, and `T < samples * seqlen`.
FailureOr<std::vector<std::vector<int32_t>>>
calibrationWindows(ModuleOp module, func::FuncOp prefill, StringRef pass,
                   const CalibrationText &text);

} // namespace mlir::quamba
