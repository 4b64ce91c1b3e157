//===- quamba-import.cpp - checkpoint -> mamba dialect --------------------===//
//
//   quamba-import CKPT_DIR -o model.mlir     (text)
//   quamba-import CKPT_DIR -o model.mlirbc   (bytecode: use it for big models)
//
// The output is written to a temporary file and renamed into place, so a
// failed or killed import never leaves a partial file (tools/WriteModule.h).
//
//===----------------------------------------------------------------------===//
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "tools/WriteModule.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::opt<std::string> checkpointDir(cl::Positional, cl::Required,
                                          cl::desc("<checkpoint directory>"));
static cl::opt<std::string>
    outputPath("o", cl::Required,
               cl::desc("Output file: .mlirbc writes bytecode, anything else "
                        "text; '-' writes text to stdout"),
               cl::value_desc("path"));
static cl::opt<bool> emitBytecode(
    "emit-bytecode", cl::desc("Write bytecode whatever the output's name"),
    cl::init(false));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::ParseCommandLineOptions(
      argc, argv,
      "quamba-import: Hugging Face / state-spaces Mamba checkpoints to the "
      "mamba dialect\n");

  auto fail = [](llvm::Error error) {
    llvm::WithColor::error(llvm::errs(), "quamba-import")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  };

  mlir::MLIRContext context;
  auto module = mlir::mamba::importCheckpoint(context, checkpointDir);
  if (!module)
    return fail(module.takeError());

  bool bytecode = emitBytecode || llvm::StringRef(outputPath).ends_with(".mlirbc");
  if (quamba::Status s = quamba::tools::writeModule(**module, outputPath, bytecode); !s)
    return fail(llvm::createStringError(s.error()));
  return 0;
}
