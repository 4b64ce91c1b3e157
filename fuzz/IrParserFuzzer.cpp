//===- IrParserFuzzer.cpp - fuzz quamba-opt's IR parser path --------------===//
//
// Parses the bytes as MLIR text the way quamba-opt reads its input, into a
// module with the dialects of mamba IR registered (mamba, func, arith: what
// the importer writes), and verifies it. Invalid IR is fine: it must be a
// diagnostic. Valid IR is printed in the custom form, which must parse and
// verify again (the round trip test/Dialect/Mamba/ops.mlir checks on known
// ops). Only the mamba dialect is instrumented for coverage: MLIR itself is
// Debian's uninstrumented libMLIR.so.
//
// Two input classes are skipped: they reach upstream readers that abort on
// hostile input in LLVM 22.1.8 (fuzz/upstream/ has the reproducers), and the
// mamba dialect never sees their contents: bytecode (BytecodeReader formats
// a diagnostic with a corrupted string length: "LLVM ERROR: out of memory")
// and resource sections (a blob whose alignment is not a power of two,
// llvm/llvm-project#181266).
//
//===----------------------------------------------------------------------===//
#include "dialect/Mamba/IR/MambaDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace mlir;

namespace {

const DialectRegistry &registry() {
  static const DialectRegistry *r = [] {
    auto *registry = new DialectRegistry();
    registry->insert<mamba::MambaDialect, func::FuncDialect, arith::ArithDialect>();
    return registry;
  }();
  return *r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  if (input.substr(0, 4) == "ML\xefR" || input.find("{-#") != std::string_view::npos)
    return -1; // not added to the corpus
  // A fresh context per input: uniqued attributes and types of earlier
  // inputs would otherwise pile up. The copy is NUL-terminated, as the
  // lexer expects of the buffers quamba-opt reads.
  std::string text(input);
  MLIRContext context(registry(), MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config, "fuzz.mlir");
  if (!module)
    return 0;

  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  OwningOpRef<ModuleOp> again = parseSourceString<ModuleOp>(printed, config, "printed.mlir");
  if (!again) {
    std::fprintf(stderr, "IR parser fuzzer: valid IR printed as IR that does not parse "
                         "and verify:\n%s\n", printed.c_str());
    std::abort();
  }
  return 0;
}
