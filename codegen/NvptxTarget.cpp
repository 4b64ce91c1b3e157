//===- NvptxTarget.cpp - gpu.modules to PTX and cubin, Triton's way -------===//
#include "codegen/NvptxTarget.h"
#include "codegen/KernelBuilder.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/ConvertToLLVM/ToLLVMInterface.h"
#include "mlir/Conversion/ConvertToLLVM/ToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace mlir::quamba::codegen {

bool isSupportedChip(StringRef chip) {
  return chip == "sm_80" || chip == "sm_90a";
}

/// The compute capability of a chip name as Triton's metadata writes it
/// ("sm_90a" -> 90).
static int capability(StringRef chip) {
  int cc = 0;
  chip.drop_front(3).take_while([](char c) { return isdigit(c); }).getAsInteger(10, cc);
  return cc;
}

bool supportsProgrammaticLaunch(StringRef chip) { return capability(chip) >= 90; }

bool supportsThreadBlockClusters(StringRef chip) { return capability(chip) >= 90; }

namespace {
/// ptxas works on files. They live in one directory per process,
/// "$TMPDIR/quamba-ptxas-<pid>-XXXXXX" (createUniqueDirectory adds the suffix), removed when the process exits; a
/// process killed mid-compile cannot remove its own, so the next one removes
/// every such directory whose pid no longer runs (docs/robustness.md,
/// "Crash-safe outputs").
class PtxasScratch {
public:
  /// The process's directory (created on first use), or an error message.
  static llvm::Expected<StringRef> directory() {
    static PtxasScratch scratch;
    if (scratch.path.empty())
      return llvm::createStringError(scratch.error);
    return StringRef(scratch.path);
  }
  /// A fresh file name in `dir` ("<n>-<stem>.<ext>").
  static std::string file(StringRef dir, StringRef stem, StringRef ext) {
    static std::atomic<unsigned> counter{0};
    SmallString<128> path(dir);
    llvm::sys::path::append(path, Twine(counter++) + "-" + stem + "." + ext);
    return path.str().str();
  }

private:
  PtxasScratch() {
    SmallString<128> tmp;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
    removeStale(tmp);
    SmallString<128> model(tmp);
    llvm::sys::path::append(model, "quamba-ptxas-" + Twine(::getpid()));
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(model, path)) {
      error = ("cannot create a directory for ptxas in " + tmp + ": " + ec.message()).str();
      path.clear();
    }
  }
  ~PtxasScratch() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
  static void removeStale(StringRef tmp) {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(tmp, ec), end; !ec && it != end;
         it.increment(ec)) {
      StringRef name = llvm::sys::path::filename(it->path());
      if (!name.consume_front("quamba-ptxas-"))
        continue;
      int pid = 0;
      if (name.consumeInteger(10, pid) || !name.starts_with("-") || pid <= 0)
        continue;
      if (::kill(pid, 0) != 0 && errno == ESRCH)
        llvm::sys::fs::remove_directories(it->path());
    }
  }
  SmallString<128> path;
  std::string error;
};
} // namespace

std::optional<int> toolkitPtxVersion() {
  static const std::optional<int> version = []() -> std::optional<int> {
    llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas");
    if (!ptxas)
      return std::nullopt;
    auto dir = PtxasScratch::directory();
    if (!dir) {
      llvm::consumeError(dir.takeError());
      return std::nullopt;
    }
    std::string out = PtxasScratch::file(*dir, "version", "txt");
    std::optional<StringRef> redirects[] = {std::nullopt, StringRef(out), StringRef(out)};
    int rc = llvm::sys::ExecuteAndWait(*ptxas, {*ptxas, "--version"}, std::nullopt,
                                       redirects);
    auto text = llvm::MemoryBuffer::getFile(out);
    llvm::sys::fs::remove(out);
    if (rc != 0 || !text)
      return std::nullopt;
    SmallVector<StringRef> match;
    if (!llvm::Regex("release ([0-9]+)\\.([0-9]+)").match((*text)->getBuffer(), &match))
      return std::nullopt;
    int major = 0, minor = 0;
    match[1].getAsInteger(10, major);
    match[2].getAsInteger(10, minor);
    // Triton's table (compiler.py, ptx_get_version).
    if (major >= 13)
      return 90 + minor;
    if (major == 12)
      return minor >= 6 ? 80 + minor - 1 : 80 + minor;
    return std::nullopt;
  }();
  return version;
}

/// Triton's PTX post-processing: `.version` raised to what ptxas supports.
static std::string fixPtxVersion(std::string ptx) {
  std::optional<int> version = toolkitPtxVersion();
  if (!version)
    return ptx;
  size_t at = ptx.find(".version ");
  if (at == std::string::npos)
    return ptx;
  size_t end = ptx.find('\n', at);
  std::string line = ".version " + std::to_string(*version / 10) + "." +
                     std::to_string(*version % 10);
  return ptx.replace(at, end - at, line);
}

/// Runs ptxas on `ptx`; fills cubin and the -v report.
static LogicalResult runPtxas(Operation *diagOp, CompiledKernel &kernel,
                              StringRef chip) {
  llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas");
  if (!ptxas)
    return success(); // PTX only; the runtime JITs it.
  auto dir = PtxasScratch::directory();
  if (!dir)
    return diagOp->emitError(llvm::toString(dir.takeError()));
  std::string in = PtxasScratch::file(*dir, kernel.name, "ptx"),
              out = PtxasScratch::file(*dir, kernel.name, "cubin"),
              log = PtxasScratch::file(*dir, kernel.name, "log");
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(in);
    llvm::sys::fs::remove(out);
    llvm::sys::fs::remove(log);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    if (ec)
      return diagOp->emitError("cannot write ") << in << ": " << ec.message();
    os << kernel.ptx;
  }
  std::string gpuName = ("--gpu-name=" + chip).str();
  SmallVector<StringRef> args = {*ptxas, "-lineinfo", "-v", gpuName, in, "-o", out};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log), StringRef(log)};
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects);
  auto report = llvm::MemoryBuffer::getFile(log);
  kernel.ptxasReport = report ? (*report)->getBuffer().str() : "";
  if (rc != 0)
    return diagOp->emitError() << "ptxas rejected kernel '" << kernel.name << "' for "
                               << chip << ":\n" << kernel.ptxasReport;
  auto cubin = llvm::MemoryBuffer::getFile(out, /*IsText=*/false);
  if (!cubin)
    return diagOp->emitError() << "ptxas wrote no cubin for '" << kernel.name << "'";
  kernel.cubin = (*cubin)->getBuffer().str();
  return success();
}

static std::string tritonMetadata(gpu::GPUModuleOp module, StringRef chip,
                                  const CompiledKernel &kernel) {
  int numWarps = 4;
  int64_t shared = 0;
  llvm::json::Array signature;
  for (auto func : module.getOps<gpu::GPUFuncOp>()) {
    if (auto block = func.getKnownBlockSizeAttr())
      numWarps = block[0] / 32;
    shared = dynamicSharedBytes(func);
    if (auto sig = func->getAttrOfType<ArrayAttr>("quamba.signature"))
      for (auto entry : sig.getAsValueRange<StringAttr>())
        signature.push_back(entry.str());
  }
  std::optional<int> ptx = toolkitPtxVersion();
  llvm::json::Object meta{
      {"name", kernel.name},
      {"num_warps", numWarps},
      {"num_ctas", 1},
      {"num_stages", 1},
      {"shared", shared},
      {"tmem_size", 0},
      {"global_scratch_size", 0},
      {"global_scratch_align", 1},
      {"profile_scratch_size", 0},
      {"profile_scratch_align", 1},
      {"ptx_version", ptx ? *ptx : 86},
      {"target", llvm::json::Object{{"backend", "cuda"},
                                    {"arch", capability(chip)},
                                    {"warp_size", 32}}},
      {"signature", std::move(signature)},
      {"chip", chip.str()},
  };
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::json::Value(std::move(meta));
  return out;
}

std::optional<std::string> findLibdevice() {
  static const std::optional<std::string> found = []() -> std::optional<std::string> {
    SmallVector<std::string> roots;
    for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
      if (const char *value = std::getenv(var))
        roots.push_back(value);
    if (llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas"))
      roots.push_back(llvm::sys::path::parent_path(llvm::sys::path::parent_path(*ptxas)).str());
    roots.push_back("/usr/local/cuda");
    for (const std::string &root : roots) {
      SmallString<256> path(root);
      llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
      if (llvm::sys::fs::exists(path))
        return path.str().str();
    }
    return std::nullopt;
  }();
  return found;
}

void buildKernelsToPtxPipeline(OpPassManager &pm, StringRef chip) {
  // Triton's settings: features +ptx<min(ptx, 86)>, O3, no ftz (see the
  // header for why).
  GpuNVVMAttachTargetOptions target;
  target.chip = chip.str();
  target.features = "+ptx86";
  target.optLevel = 3;
  // Linked only where a kernel calls it (math functions), as Triton does;
  // found explicitly so that a scrubbed environment (lit) finds it too.
  if (std::optional<std::string> libdevice = findLibdevice())
    target.linkLibs.push_back(*libdevice);
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernel = pm.nest<gpu::GPUModuleOp>();
  kernel.addPass(createConvertNVGPUToNVVMPass());
  kernel.addPass(createSCFToControlFlowPass());
  kernel.addPass(createConvertVectorToLLVMPass());
  ConvertGpuOpsToNVVMOpsOptions toNvvm;
  toNvvm.useBarePtrCallConv = true;
  kernel.addPass(createConvertGpuOpsToNVVMOps(toNvvm));
  // NVVM ops without an intrinsic (wgmma.mma_async) become inline PTX.
  kernel.addPass(createConvertNVVMToLLVMPass());
  kernel.addPass(createCanonicalizerPass());
  kernel.addPass(createCSEPass());
  kernel.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

namespace {
struct KernelsToPtxOptions : public PassPipelineOptions<KernelsToPtxOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("sm_80 or sm_90a (default)"),
                           llvm::cl::init("sm_90a")};
};
} // namespace

void registerQuambaCodegenPipelines() {
  PassPipelineRegistration<KernelsToPtxOptions>(
      "quamba-kernels-to-ptx",
      "Lower every kernel gpu.module to PTX with Triton's NVPTX settings "
      "(gpu.binary ops holding the PTX text)",
      [](OpPassManager &pm, const KernelsToPtxOptions &options) {
        buildKernelsToPtxPipeline(pm, options.chip);
      });
}

void registerCodegenDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, gpu::GPUDialect, LLVM::LLVMDialect, math::MathDialect,
                  scf::SCFDialect, cf::ControlFlowDialect, NVVM::NVVMDialect,
                  nvgpu::NVGPUDialect, vector::VectorDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerConvertToLLVMDependentDialectLoading(registry);
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  gpu::registerConvertGpuToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
}

FailureOr<std::vector<CompiledKernel>>
compileKernels(ModuleOp kernels, const NvptxOptions &options) {
  MLIRContext *context = kernels.getContext();
  {
    DialectRegistry registry;
    registerCodegenDialects(registry);
    context->appendDialectRegistry(registry);
  }
  if (!isSupportedChip(options.chip))
    return kernels.emitError() << "unsupported target '" << options.chip
                               << "'; expected sm_80 or sm_90a";
  std::map<std::string, gpu::GPUModuleOp> modules;
  for (auto module : kernels.getOps<gpu::GPUModuleOp>())
    modules[module.getName().str()] = module;
  PassManager pm(context);
  buildKernelsToPtxPipeline(pm, options.chip);
  // Metadata is taken now: the pipeline turns the modules into binaries.
  std::map<std::string, CompiledKernel> pending;
  for (auto &[name, module] : modules) {
    CompiledKernel kernel;
    kernel.name = name;
    kernel.metadataJson = tritonMetadata(module, options.chip, kernel);
    pending[name] = std::move(kernel);
  }
  if (failed(pm.run(kernels)))
    return failure();

  std::vector<CompiledKernel> out;
  for (auto binary : kernels.getOps<gpu::BinaryOp>()) {
    auto found = pending.find(binary.getName().str());
    if (found == pending.end())
      continue;
    CompiledKernel kernel = std::move(found->second);
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    kernel.ptx = fixPtxVersion(object.getObject().str());
    if (kernel.ptx.find(".extern .func __nv_") != std::string::npos)
      return binary.emitError()
             << "kernel '" << kernel.name
             << "' calls libdevice, but libdevice.10.bc was not found; set "
                "CUDA_HOME to the CUDA toolkit";
    if (options.cubin && failed(runPtxas(binary, kernel, options.chip)))
      return failure();
    out.push_back(std::move(kernel));
  }
  return out;
}

} // namespace mlir::quamba::codegen
