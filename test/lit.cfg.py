# -*- Python -*-
# The lit suite of quamba: dialect round-trips and diagnostics, pass rewrites,
# tool behaviour. GPU tests carry `REQUIRES: cuda` and run only on the GPU
# machine (scripts/gpu-check.sh); tests that read ../shared carry
# `REQUIRES: shared` and are skipped, with a note, when it is absent.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "quamba"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.quamba_obj_root, "test")
config.excludes = ["Inputs", "fixtures", "Unit", "GPU", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

llvm_config.use_default_substitutions()
config.substitutions.append(("%fixtures", os.path.join(config.quamba_src_root, "test", "fixtures")))
config.substitutions.append(("%shared", config.quamba_shared_dir))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%inputs", os.path.join(config.quamba_src_root, "test", "Inputs")))

if os.path.isdir(os.path.join(config.quamba_shared_dir, "fixtures")):
    config.available_features.add("shared")
else:
    lit_config.note("../shared not found: tests that need it are skipped")
if config.sanitize:
    # ASan reserves terabytes of address space: tests that cap it can't run.
    config.available_features.add("asan")
import shutil
if shutil.which("ptxas"):
    # The CUDA toolkit's assembler: codegen tests check that it accepts
    # every kernel (no GPU needed).
    config.available_features.add("ptxas")
if config.enable_cuda:
    config.available_features.add("cuda")

llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tool_dirs = [config.quamba_tools_dir, config.llvm_tools_dir]
tools = ["quamba-opt", "quamba-import", "quamba-run", "quamba-interpret", "quamba-compile", "quamba-random-checkpoint", "FileCheck", "not", "split-file", "count"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
