//===- CudaBackend.cpp - run a plan's kernels through the driver API ------===//
//
// libcuda is opened at run time (dlopen "libcuda.so.1"), not linked: the same
// quamba-run binary then starts on machines without a GPU driver and falls
// back to the CPU backend, and it builds anywhere the toolkit's cuda.h is
// (the header alone; no stub library needed at link time).
//
// Kernels are loaded from the artifact's cubin when the GPU's architecture
// matches the target (cuModuleLoadData), else from its PTX (JIT by the
// driver). Launches follow Triton's ABI: the visible arguments, then two
// null hidden scratch pointers; block = 32 * num_warps; dynamic shared
// memory from the plan.
//
//===----------------------------------------------------------------------===//
#include "runtime/exec/Backend.h"

#if QUAMBA_HAVE_CUDA_HEADERS
#include <cuda.h>
#include <dlfcn.h>
#endif

#include <cstdlib>
#include <map>

namespace quamba::exec {

#if !QUAMBA_HAVE_CUDA_HEADERS

Result<std::unique_ptr<Backend>> createCudaBackend(int) {
  return makeError("this runtime was built without the CUDA headers (cuda.h)");
}

Result<std::unique_ptr<CudaKernel>> CudaKernel::load(const void *, const std::string &) {
  return makeError("this runtime was built without the CUDA headers (cuda.h)");
}

#else

namespace {

/// The driver entry points the backend uses, resolved by name (the _v2
/// names are what cuda.h's macros select).
struct Driver {
  void *handle = nullptr;
#define QUAMBA_CU_FN(type, name) type name = nullptr;
  QUAMBA_CU_FN(decltype(&::cuInit), init)
  QUAMBA_CU_FN(decltype(&::cuDeviceGetCount), deviceGetCount)
  QUAMBA_CU_FN(decltype(&::cuDeviceGet), deviceGet)
  QUAMBA_CU_FN(decltype(&::cuDeviceGetAttribute), deviceGetAttribute)
  QUAMBA_CU_FN(decltype(&::cuDeviceGetName), deviceGetName)
  QUAMBA_CU_FN(decltype(&::cuDevicePrimaryCtxRetain), primaryCtxRetain)
  QUAMBA_CU_FN(decltype(&::cuCtxSetCurrent), ctxSetCurrent)
  QUAMBA_CU_FN(decltype(&::cuCtxSynchronize), ctxSynchronize)
  QUAMBA_CU_FN(decltype(&::cuModuleLoadData), moduleLoadData)
  QUAMBA_CU_FN(decltype(&::cuModuleGetFunction), moduleGetFunction)
  QUAMBA_CU_FN(decltype(&::cuFuncSetAttribute), funcSetAttribute)
  QUAMBA_CU_FN(decltype(&::cuMemAlloc), memAlloc)
  QUAMBA_CU_FN(decltype(&::cuMemFree), memFree)
  QUAMBA_CU_FN(decltype(&::cuMemcpyHtoD), memcpyHtoD)
  QUAMBA_CU_FN(decltype(&::cuMemcpyDtoH), memcpyDtoH)
  QUAMBA_CU_FN(decltype(&::cuMemcpyDtoDAsync), memcpyDtoDAsync)
  QUAMBA_CU_FN(decltype(&::cuMemsetD8Async), memsetD8Async)
  QUAMBA_CU_FN(decltype(&::cuLaunchKernel), launchKernel)
  QUAMBA_CU_FN(decltype(&::cuLaunchKernelEx), launchKernelEx)
  QUAMBA_CU_FN(decltype(&::cuGetErrorString), getErrorString)
  QUAMBA_CU_FN(decltype(&::cuStreamCreate), streamCreate)
  QUAMBA_CU_FN(decltype(&::cuStreamSynchronize), streamSynchronize)
  QUAMBA_CU_FN(decltype(&::cuStreamBeginCapture), streamBeginCapture)
  QUAMBA_CU_FN(decltype(&::cuStreamEndCapture), streamEndCapture)
  QUAMBA_CU_FN(decltype(&::cuGraphInstantiateWithFlags), graphInstantiate)
  QUAMBA_CU_FN(decltype(&::cuGraphLaunch), graphLaunch)
  QUAMBA_CU_FN(decltype(&::cuGraphExecDestroy), graphExecDestroy)
  QUAMBA_CU_FN(decltype(&::cuGraphDestroy), graphDestroy)
#undef QUAMBA_CU_FN

  Status load() {
    handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      return makeError("no CUDA driver (libcuda.so.1 not found)");
    struct Entry {
      void **slot;
      const char *symbol;
    } entries[] = {
        {reinterpret_cast<void **>(&init), "cuInit"},
        {reinterpret_cast<void **>(&deviceGetCount), "cuDeviceGetCount"},
        {reinterpret_cast<void **>(&deviceGet), "cuDeviceGet"},
        {reinterpret_cast<void **>(&deviceGetAttribute), "cuDeviceGetAttribute"},
        {reinterpret_cast<void **>(&deviceGetName), "cuDeviceGetName"},
        {reinterpret_cast<void **>(&primaryCtxRetain), "cuDevicePrimaryCtxRetain"},
        {reinterpret_cast<void **>(&ctxSetCurrent), "cuCtxSetCurrent"},
        {reinterpret_cast<void **>(&ctxSynchronize), "cuCtxSynchronize"},
        {reinterpret_cast<void **>(&moduleLoadData), "cuModuleLoadData"},
        {reinterpret_cast<void **>(&moduleGetFunction), "cuModuleGetFunction"},
        {reinterpret_cast<void **>(&funcSetAttribute), "cuFuncSetAttribute"},
        {reinterpret_cast<void **>(&memAlloc), "cuMemAlloc_v2"},
        {reinterpret_cast<void **>(&memFree), "cuMemFree_v2"},
        {reinterpret_cast<void **>(&memcpyHtoD), "cuMemcpyHtoD_v2"},
        {reinterpret_cast<void **>(&memcpyDtoH), "cuMemcpyDtoH_v2"},
        {reinterpret_cast<void **>(&memcpyDtoDAsync), "cuMemcpyDtoDAsync_v2"},
        {reinterpret_cast<void **>(&memsetD8Async), "cuMemsetD8Async"},
        {reinterpret_cast<void **>(&launchKernel), "cuLaunchKernel"},
        {reinterpret_cast<void **>(&launchKernelEx), "cuLaunchKernelEx"},
        {reinterpret_cast<void **>(&getErrorString), "cuGetErrorString"},
        {reinterpret_cast<void **>(&streamCreate), "cuStreamCreate"},
        {reinterpret_cast<void **>(&streamSynchronize), "cuStreamSynchronize"},
        {reinterpret_cast<void **>(&streamBeginCapture), "cuStreamBeginCapture_v2"},
        {reinterpret_cast<void **>(&streamEndCapture), "cuStreamEndCapture"},
        {reinterpret_cast<void **>(&graphInstantiate), "cuGraphInstantiateWithFlags"},
        {reinterpret_cast<void **>(&graphLaunch), "cuGraphLaunch"},
        {reinterpret_cast<void **>(&graphExecDestroy), "cuGraphExecDestroy"},
        {reinterpret_cast<void **>(&graphDestroy), "cuGraphDestroy"},
    };
    for (const Entry &e : entries) {
      *e.slot = dlsym(handle, e.symbol);
      if (!*e.slot)
        return makeError(std::string("libcuda.so.1 lacks ") + e.symbol);
    }
    return Status::success();
  }

  std::string message(CUresult rc) const {
    const char *text = nullptr;
    if (getErrorString)
      getErrorString(rc, &text);
    return text ? text : "CUDA error " + std::to_string(static_cast<int>(rc));
  }
};

/// The process's driver table, loaded and cuInit-ed once.
Result<Driver *> sharedDriver() {
  static Driver driver;
  static Status status = [] {
    if (Status s = driver.load(); !s)
      return s;
    if (CUresult rc = driver.init(0); rc != CUDA_SUCCESS)
      return Status(makeError("cuInit: " + driver.message(rc)));
    return Status::success();
  }();
  if (!status)
    return makeError(status.error());
  return &driver;
}

/// Makes device `ordinal`'s primary context current.
Status useDevice(Driver &driver, int ordinal, CUdevice &device, CUcontext &context) {
  int count = 0;
  if (CUresult rc = driver.deviceGetCount(&count); rc != CUDA_SUCCESS || count == 0)
    return makeError("no CUDA device");
  if (ordinal < 0 || ordinal >= count)
    return makeError("no CUDA device " + std::to_string(ordinal) + " (there are " +
                     std::to_string(count) + ")");
  if (CUresult rc = driver.deviceGet(&device, ordinal); rc != CUDA_SUCCESS)
    return makeError("cuDeviceGet: " + driver.message(rc));
  if (CUresult rc = driver.primaryCtxRetain(&context, device); rc != CUDA_SUCCESS)
    return makeError("cuDevicePrimaryCtxRetain: " + driver.message(rc));
  if (CUresult rc = driver.ctxSetCurrent(context); rc != CUDA_SUCCESS)
    return makeError("cuCtxSetCurrent: " + driver.message(rc));
  return Status::success();
}

/// Launches `function` with Triton's ABI: `args` (pointers to the visible
/// argument values), then two null hidden scratch pointers. `overlap`
/// launches it with programmatic stream serialization: only for kernels
/// that await their predecessor (plan::KernelInfo::awaitsPredecessor).
CUresult launchTriton(Driver &driver, CUfunction function, const std::array<uint32_t, 3> &grid,
                      const std::array<int, 3> &block, int shared, void *const *args,
                      size_t count, CUstream stream = nullptr, bool overlap = false) {
  CUdeviceptr hidden[2] = {0, 0};
  std::vector<void *> params(args, args + count);
  params.push_back(&hidden[0]);
  params.push_back(&hidden[1]);
  if (!overlap)
    return driver.launchKernel(function, grid[0], grid[1], grid[2], block[0], block[1],
                               block[2], static_cast<unsigned>(shared), stream, params.data(),
                               nullptr);
  CUlaunchAttribute attribute = {};
  attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attribute.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config = {};
  config.gridDimX = grid[0];
  config.gridDimY = grid[1];
  config.gridDimZ = grid[2];
  config.blockDimX = static_cast<unsigned>(block[0]);
  config.blockDimY = static_cast<unsigned>(block[1]);
  config.blockDimZ = static_cast<unsigned>(block[2]);
  config.sharedMemBytes = static_cast<unsigned>(shared);
  config.hStream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  return driver.launchKernelEx(&config, function, params.data(), nullptr);
}

class CudaBackend final : public Backend {
public:
  Status open(int ordinal) {
    Result<Driver *> loaded = sharedDriver();
    if (!loaded)
      return makeError(loaded.error());
    driver = **loaded;
    if (Status s = useDevice(driver, ordinal, device, context); !s)
      return s;
    driver.deviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
    driver.deviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    char name[256] = {0};
    driver.deviceGetName(name, sizeof(name) - 1, device);
    deviceName = name;
    // One blocking stream: the synchronous copies on the legacy stream
    // order with it; graphs are captured on it. QUAMBA_CUDA_GRAPHS=0 turns
    // graph capture off (for A/B measurements).
    const char *graphsEnv = std::getenv("QUAMBA_CUDA_GRAPHS");
    useGraphs = !graphsEnv || std::string(graphsEnv) != "0";
    // Programmatic dependent launch needs sm_90; QUAMBA_CUDA_OVERLAP=0 turns
    // it off (for A/B measurements).
    const char *overlapEnv = std::getenv("QUAMBA_CUDA_OVERLAP");
    useOverlap = major >= 9 && (!overlapEnv || std::string(overlapEnv) != "0");
    return call(driver.streamCreate(&stream, CU_STREAM_DEFAULT), "cuStreamCreate");
  }

  ~CudaBackend() override { invalidateGraphs(); }

  Status runGraph(const std::string &key, const std::function<Status()> &body) override {
    if (!useGraphs)
      return body();
    auto found = graphs.find(key);
    if (found == graphs.end()) {
      if (Status s = call(driver.streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                          "cuStreamBeginCapture");
          !s)
        return s;
      Status recorded = body();
      CUgraph graph = nullptr;
      CUresult ended = driver.streamEndCapture(stream, &graph);
      if (!recorded) {
        if (graph)
          driver.graphDestroy(graph);
        return recorded;
      }
      if (ended != CUDA_SUCCESS)
        return makeError("cuStreamEndCapture: " + driver.message(ended));
      CUgraphExec exec = nullptr;
      CUresult rc = driver.graphInstantiate(&exec, graph, 0);
      driver.graphDestroy(graph);
      if (rc != CUDA_SUCCESS)
        return makeError("cuGraphInstantiate: " + driver.message(rc));
      found = graphs.emplace(key, exec).first;
    }
    return call(driver.graphLaunch(found->second, stream), "cuGraphLaunch " + key);
  }

  bool hasGraph(const std::string &key) const override {
    return useGraphs && graphs.count(key) != 0;
  }

  void invalidateGraphs() override {
    for (auto &[key, exec] : graphs)
      driver.graphExecDestroy(exec);
    graphs.clear();
  }

  bool readsF16Weights() const override { return true; }
  std::string name() const override {
    return "cuda (" + deviceName + ", sm_" + std::to_string(major) + std::to_string(minor) + ")";
  }

  Status prepare(const plan::Artifact &artifact) override {
    if (Status s = artifact.checkDevice(major, minor); !s)
      return s;
    bool cubinFits = (artifact.plan().target == "sm_90a" && major == 9 && minor == 0) ||
                     (artifact.plan().target == "sm_80" && major == 8);
    for (const plan::KernelInfo &kernel : artifact.plan().kernels) {
      CUmodule module = nullptr;
      std::string_view cubin = artifact.cubin(kernel.name);
      CUresult rc = CUDA_ERROR_INVALID_IMAGE;
      if (cubinFits && !cubin.empty())
        rc = driver.moduleLoadData(&module, cubin.data());
      if (rc != CUDA_SUCCESS) {
        // PTX must be NUL-terminated for the JIT.
        std::string ptx(artifact.ptx(kernel.name));
        rc = driver.moduleLoadData(&module, ptx.c_str());
      }
      if (rc != CUDA_SUCCESS)
        return makeError("kernel '" + kernel.name + "': cuModuleLoadData: " + driver.message(rc));
      CUfunction function = nullptr;
      if (CUresult frc = driver.moduleGetFunction(&function, module, kernel.name.c_str());
          frc != CUDA_SUCCESS)
        return makeError("kernel '" + kernel.name + "': cuModuleGetFunction: " +
                         driver.message(frc));
      if (kernel.sharedBytes > 48 * 1024)
        if (Status s = call(driver.funcSetAttribute(
                                function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                kernel.sharedBytes),
                            "cuFuncSetAttribute");
            !s)
          return s;
      functions[kernel.name] = {function, useOverlap && kernel.awaitsPredecessor};
    }
    return Status::success();
  }

  Result<void *> allocate(size_t bytes) override {
    CUdeviceptr ptr = 0;
    if (CUresult rc = driver.memAlloc(&ptr, std::max<size_t>(bytes, 1)); rc != CUDA_SUCCESS)
      return makeError("cuMemAlloc of " + std::to_string(bytes) + " bytes: " + driver.message(rc));
    return reinterpret_cast<void *>(ptr);
  }
  void release(void *ptr) override { driver.memFree(reinterpret_cast<CUdeviceptr>(ptr)); }
  Status upload(void *dst, const void *src, size_t bytes) override {
    return call(driver.memcpyHtoD(reinterpret_cast<CUdeviceptr>(dst), src, bytes), "cuMemcpyHtoD");
  }
  Status download(void *dst, const void *src, size_t bytes) override {
    return call(driver.memcpyDtoH(dst, reinterpret_cast<CUdeviceptr>(src), bytes), "cuMemcpyDtoH");
  }
  // Device-side copies and fills go to the session's stream, ordered with its
  // kernels; synchronize() then covers them (cuMemcpyDtoD on the legacy
  // stream is asynchronous to the host and is not waited for by it).
  Status copy(void *dst, const void *src, size_t bytes) override {
    return call(driver.memcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(dst),
                                       reinterpret_cast<CUdeviceptr>(src), bytes, stream),
                "cuMemcpyDtoDAsync");
  }
  Status fill(void *dst, uint8_t value, size_t bytes) override {
    return call(driver.memsetD8Async(reinterpret_cast<CUdeviceptr>(dst), value, bytes, stream),
                "cuMemsetD8Async");
  }
  Status synchronize() override {
    return call(driver.streamSynchronize(stream), "cuStreamSynchronize");
  }

  Status run(const BoundLaunch &bound) override {
    const plan::Launch &l = *bound.launch;
    auto it = functions.find(l.kernel);
    if (it == functions.end())
      return makeError("kernel '" + l.kernel + "' was not loaded");
    // Triton's ABI: visible pointers, visible i32 scalars, then the two
    // hidden scratch pointers (null: our kernels use no scratch).
    std::vector<CUdeviceptr> pointers;
    for (void *p : bound.operands)
      pointers.push_back(reinterpret_cast<CUdeviceptr>(p));
    std::vector<int32_t> scalars = bound.scalars;
    std::vector<void *> params;
    for (CUdeviceptr &p : pointers)
      params.push_back(&p);
    for (int32_t &s : scalars)
      params.push_back(&s);
    CUresult rc = launchTriton(driver, it->second.function, bound.grid, l.block,
                               l.sharedBytes, params.data(), params.size(), stream,
                               it->second.overlap);
    return call(rc, "cuLaunchKernel " + l.kernel);
  }

private:
  Status call(CUresult rc, const std::string &what) {
    if (rc == CUDA_SUCCESS)
      return Status::success();
    return makeError(what + ": " + driver.message(rc));
  }

  Driver driver;
  CUstream stream = nullptr;
  bool useGraphs = true;
  bool useOverlap = true;
  std::map<std::string, CUgraphExec> graphs;
  CUdevice device = 0;
  CUcontext context = nullptr;
  int major = 0, minor = 0;
  std::string deviceName;
  struct LoadedFunction {
    CUfunction function = nullptr;
    bool overlap = false; ///< launched with programmatic stream serialization
  };
  std::map<std::string, LoadedFunction> functions;
};

class LoadedCudaKernel final : public CudaKernel {
public:
  Driver *driver = nullptr;
  CUfunction function = nullptr;
  Status launch(const std::array<uint32_t, 3> &grid, int numWarps, int sharedBytes,
                void *const *args, size_t count) override {
    CUresult rc = launchTriton(*driver, function, grid, {32 * numWarps, 1, 1}, sharedBytes,
                               args, count);
    if (rc == CUDA_SUCCESS)
      rc = driver->ctxSynchronize();
    if (rc != CUDA_SUCCESS)
      return makeError("launch: " + driver->message(rc));
    return Status::success();
  }
};

} // namespace

Result<std::unique_ptr<CudaKernel>> CudaKernel::load(const void *image, const std::string &name) {
  Result<Driver *> driver = sharedDriver();
  if (!driver)
    return makeError(driver.error());
  CUdevice device;
  CUcontext context;
  if (Status s = useDevice(**driver, 0, device, context); !s)
    return makeError(s.error());
  CUmodule module = nullptr;
  if (CUresult rc = (*driver)->moduleLoadData(&module, image); rc != CUDA_SUCCESS)
    return makeError("cuModuleLoadData: " + (*driver)->message(rc));
  auto kernel = std::make_unique<LoadedCudaKernel>();
  kernel->driver = *driver;
  if (CUresult rc = (*driver)->moduleGetFunction(&kernel->function, module, name.c_str());
      rc != CUDA_SUCCESS)
    return makeError("kernel '" + name + "': " + (*driver)->message(rc));
  return std::unique_ptr<CudaKernel>(std::move(kernel));
}

Result<std::unique_ptr<Backend>> createCudaBackend(int ordinal) {
  auto backend = std::make_unique<CudaBackend>();
  if (Status s = backend->open(ordinal); !s)
    return makeError(s.error());
  return std::unique_ptr<Backend>(std::move(backend));
}

#endif

} // namespace quamba::exec
