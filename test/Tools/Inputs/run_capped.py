#!/usr/bin/env python3
"""Runs a command with its address space capped, so that a tool that tried to
allocate what a hostile input claims fails fast instead of exhausting the
machine.

    run_capped.py MIB COMMAND [ARG ...]

Exits with the command's status (128 + N when signal N ended it). OpenBLAS
is held to one thread: its per-thread buffers would otherwise make the cap
depend on the machine's core count.
"""

import os
import resource
import subprocess
import sys


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cap = int(argv[0]) << 20

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    code = subprocess.run(argv[1:], preexec_fn=limit, env=env, timeout=120).returncode
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main(sys.argv[1:])
