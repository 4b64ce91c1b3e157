# -*- Python -*-
# The GPU lit suite: runs on the GPU machine only, through
# scripts/gpu-check.sh, with the MLIR-free quamba-run and the models that
# scripts/device-bundle.sh compiled (the GPU machine has no MLIR). Every test
# carries `REQUIRES: cuda`; the feature is set when QUAMBA_RUN and
# QUAMBA_MODELS are given and a GPU answers nvidia-smi. Checks are written
# in Python (no FileCheck there).
import os
import shutil
import subprocess
import sys

import lit.formats

config.name = "quamba-gpu"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".test"]
config.excludes = ["triton_compat.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.environ.get("OUT", "/tmp"), "quamba-gpu-lit")

run = os.environ.get("QUAMBA_RUN", "")
models = os.environ.get("QUAMBA_MODELS", "")
config.substitutions.append(("%quamba-run", run))
config.substitutions.append(("%models", models))
config.substitutions.append(("%quamba-lib", os.environ.get("QUAMBA_LIB", "")))
config.substitutions.append(("%quamba-c-example", os.path.join(os.path.dirname(run), "quamba-c-example")))
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%gpu", os.path.dirname(__file__)))
for var in ("PATH", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "HOME"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

def gpu_present():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    return subprocess.run([smi, "-L"], capture_output=True).returncode == 0

if run and models and gpu_present():
    config.available_features.add("cuda")
else:
    lit_config.note("no GPU, or QUAMBA_RUN / QUAMBA_MODELS unset: GPU tests unsupported")
