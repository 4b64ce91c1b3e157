//===- WriteModule.h - write a module's IR atomically -----------*- C++ -*-===//
//
// quamba-import and quamba-compile write IR through the project's atomic
// writer (safetensors::writeFileAtomically): a failed or killed run leaves
// the output path as it was, never a partial file, and the next run removes
// the temporary file a killed one left. "-" writes text to stdout.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Safetensors.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace quamba::tools {

/// Writes `module` to `path` as bytecode or text; the error names the path.
inline Status writeModule(mlir::ModuleOp module, const std::string &path, bool bytecode) {
  auto emit = [&](llvm::raw_ostream &os) -> bool {
    if (bytecode)
      return mlir::succeeded(mlir::writeBytecodeToFile(module, os));
    module->print(os, mlir::OpPrintingFlags());
    os << "\n";
    return true;
  };
  if (path == "-") {
    if (!emit(llvm::outs()))
      return makeError("<stdout>: cannot write bytecode");
    llvm::outs().flush();
    return Status::success();
  }
  return safetensors::writeFileAtomically(path, [&](int fd) -> Status {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/false);
    bool emitted = emit(os);
    os.flush();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error(); // else its destructor aborts
      return makeError(path + ": cannot write: " + message);
    }
    if (!emitted)
      return makeError(path + ": cannot write bytecode");
    return Status::success();
  });
}

} // namespace quamba::tools
