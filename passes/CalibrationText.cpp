//===- CalibrationText.cpp - calibration windows from a text file ---------===//
#include "passes/CalibrationText.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/tokenizer/Tokenizer.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace mlir::quamba;

FailureOr<std::vector<std::vector<int32_t>>>
mlir::quamba::calibrationWindows(ModuleOp module, func::FuncOp prefill,
                                 StringRef pass,
                                 const CalibrationText &text) {
  auto error = [&]() {
    return mlir::emitError(module.getLoc()) << pass << ": ";
  };
  int64_t vocab = -1;
  prefill.walk([&](Operation *op) {
    if (auto embedding = dyn_cast<mamba::EmbeddingOp>(op))
      vocab = cast<ShapedType>(embedding.getTable().getType()).getDimSize(0);
    else if (auto quantized = dyn_cast<mamba::QuantizedEmbeddingOp>(op))
      vocab = cast<ShapedType>(quantized.getTable().getType()).getDimSize(0);
  });
  if (vocab < 0)
    return error() << "@prefill has no embedding";
  std::unique_ptr<::quamba::Tokenizer> tok;
  if (!text.tokenizer.empty()) {
    auto loaded = ::quamba::loadTokenizerJson(text.tokenizer);
    if (!loaded)
      return error() << loaded.error();
    tok = loaded.take();
    if (tok->vocabSize() > vocab)
      return error() << "tokenizer '" << text.tokenizer
                     << "' produces ids up to " << tok->vocabSize() - 1
                     << " but the embedding has " << vocab << " rows";
  } else if (vocab == 256) {
    tok = std::make_unique<::quamba::ByteTokenizer>();
  } else {
    return error() << "the embedding has " << vocab
                   << " rows, so the byte tokenizer does not apply: pass "
                      "tokenizer=<path to tokenizer.json>";
  }
  auto buffer = llvm::MemoryBuffer::getFile(text.data, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return error() << "cannot read calibration data '" << text.data
                   << "': " << buffer.getError().message();
  std::vector<int32_t> ids = tok->encode((*buffer)->getBuffer());
  int64_t total = static_cast<int64_t>(ids.size());
  if (total < text.samples * text.seqlen)
    return error() << "calibration text too short: '" << text.data
                   << "' has " << total << " tokens, " << text.samples
                   << " samples of " << text.seqlen << " tokens need "
                   << text.samples * text.seqlen;
  std::vector<std::vector<int32_t>> windows;
  for (int64_t i = 0; i < text.samples; ++i) {
    int64_t start = text.samples == 1
                        ? 0
                        : i * (total - text.seqlen) / (text.samples - 1);
    windows.emplace_back(ids.begin() + start,
                         ids.begin() + start + text.seqlen);
  }
  return windows;
}
