"""Triton compatibility, proven on the GPU (DESIGN.md §5):
  1. a Triton-compiled kernel (its cubin and metadata) launched through
     quamba's loader (libquamba.so: quamba_kernel_load / quamba_kernel_launch,
     Triton's ABI with the two hidden scratch pointers) gives Triton's result;
  2. one of quamba's kernels (dequantize, from a model.qmb, with its Triton-
     style JSON sidecar) launched through Triton's own loader and launcher
     (driver.utils.load_binary, CompiledKernel's runner) gives the reference
     result (float(q) * scale per channel).
usage: triton_compat.py libquamba.so model.qmb
"""
import ctypes
import json
import struct
import sys

import torch
import triton
import triton.language as tl


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    tensors = {k: data[base + v["data_offsets"][0] : base + v["data_offsets"][1]]
               for k, v in header.items() if k != "__metadata__"}
    return header.get("__metadata__", {}), tensors


@triton.jit
def axpy(x_ptr, y_ptr, out_ptr, a, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, a * x + y, mask=mask)


@triton.jit
def dequantize_like(q_ptr, s_ptr, out_ptr, n, INNER: tl.constexpr, BLOCK: tl.constexpr):
    # Same signature as quamba's dequantize kernel: (*i8, *fp32, *fp32, i32).
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    q = tl.load(q_ptr + offs, mask=mask).to(tl.float32)
    s = tl.load(s_ptr + offs % INNER, mask=mask)
    tl.store(out_ptr + offs, q * s, mask=mask)


def triton_kernel_through_quamba(lib):
    n = 10007  # not a multiple of 16: Triton keeps n as an i32 argument
    x = torch.randn(n, device="cuda")
    y = torch.randn(n, device="cuda")
    expected = torch.empty_like(x)
    grid = (triton.cdiv(n, 256),)
    compiled = axpy[grid](x, y, expected, 1.5, n, BLOCK=256, num_warps=4)
    torch.cuda.synchronize()
    meta = compiled.metadata
    kernel = ctypes.c_void_p()
    rc = lib.quamba_kernel_load(ctypes.c_char_p(compiled.asm["cubin"]), meta.name.encode(),
                                ctypes.byref(kernel))
    assert rc == 0, lib.quamba_last_error().decode()
    out = torch.full_like(x, float("nan"))
    values = [ctypes.c_uint64(x.data_ptr()), ctypes.c_uint64(y.data_ptr()),
              ctypes.c_uint64(out.data_ptr()), ctypes.c_float(1.5), ctypes.c_int32(n)]
    argv = (ctypes.c_void_p * len(values))(*[ctypes.cast(ctypes.pointer(v), ctypes.c_void_p)
                                             for v in values])
    dims = (ctypes.c_uint * 3)(grid[0], 1, 1)
    rc = lib.quamba_kernel_launch(kernel, dims, meta.num_warps, meta.shared, argv, len(values))
    assert rc == 0, lib.quamba_last_error().decode()
    lib.quamba_kernel_unload(kernel)
    assert torch.equal(out, expected), (out - expected).abs().max()
    # Triton contracts a * x + y into one FMA: equal to torch's two roundings
    # within an ulp of the operands (absolute, near cancellations).
    assert torch.allclose(expected, 1.5 * x + y, rtol=1e-6, atol=1e-6)
    print(f"1. Triton kernel '{meta.name}' (cubin, {meta.num_warps} warps) through quamba's "
          f"loader: {n} outputs equal to Triton's own launch")


def quamba_kernel_through_triton(qmb):
    metadata, tensors = read_safetensors(qmb)
    plan = json.loads(metadata["plan"])
    names = [k["name"] for k in plan["kernels"] if k["name"].startswith("dequantize_inner")]
    assert names, "no dequantize kernel in " + qmb
    name = names[0]
    # dequantize_inner<C>, or dequantize_inner<C>_v4: four elements a thread.
    inner_text, _, variant = name[len("dequantize_inner"):].partition("_")
    inner = int(inner_text)
    width = 4 if variant == "v4" else 1
    sidecar = json.loads(tensors[f"kernels/{name}.json"])
    cubin = tensors[f"kernels/{name}.cubin"]
    assert sidecar["name"] == name and sidecar["num_ctas"] == 1, sidecar
    assert sidecar["signature"] == ["*i8", "*fp32", "*fp32", "i32"], sidecar["signature"]

    # A partial last block; the four-element kernel runs on counts that are
    # multiples of 4 (whole rows of a multiple-of-4 channel count).
    n = 37 * inner + (4 if width == 4 else 5)
    q = torch.randint(-128, 128, (n,), dtype=torch.int8, device="cuda")
    s = torch.rand(inner, device="cuda") + 0.01
    out = torch.full((n,), float("nan"), device="cuda")
    block = 32 * sidecar["num_warps"]
    grid = (triton.cdiv(n, block),)
    # Triton's launcher for this signature, from a Triton kernel of the same
    # signature and launch configuration...
    triton_out = torch.empty_like(out)
    launcher = dequantize_like[grid](q, s, triton_out, n, INNER=inner, BLOCK=block,
                                     num_warps=sidecar["num_warps"])
    assert launcher.metadata.shared == sidecar["shared"] == 0
    # ...given quamba's kernel, loaded by Triton's loader.
    device = torch.cuda.current_device()
    loaded = triton.runtime.driver.active.utils.load_binary(name, cubin, sidecar["shared"], device)
    launcher._init_handles()
    launcher.function = loaded[1]
    # CompiledKernel's runner: a 3-d grid and every argument, constexprs too
    # (Triton's launcher drops them: the kernel ABI has only q, s, out, n).
    launcher[(triton.cdiv(n, block * width), 1, 1)](q, s, out, n, inner, block)
    torch.cuda.synchronize()
    expected = q.float() * s.repeat(n // inner + 1)[:n]
    assert torch.equal(out, expected), (out - expected).abs().max()
    assert torch.equal(triton_out, expected)
    print(f"2. quamba kernel '{name}' ({sidecar['num_warps']} warps, Triton sidecar) through "
          f"Triton's loader and launcher: {n} outputs equal to the reference")


def main():
    lib = ctypes.CDLL(sys.argv[1])
    lib.quamba_last_error.restype = ctypes.c_char_p
    triton_kernel_through_quamba(lib)
    quamba_kernel_through_triton(sys.argv[2])
    print(f"triton {triton.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}")


if __name__ == "__main__":
    main()
