#!/usr/bin/env python3
"""Kills a tool that writes one output file at many points of its run and
checks that the output path never holds a partial file (docs/robustness.md,
"Crash-safe outputs").

    kill_writer.py --reference REF --work DIR [--kills N] [--fsize F] [--reruns K]
                   [--seed S] -- COMMAND...

COMMAND writes its output to the path given by the argument "{out}" (the
same name as REF, in a directory of its own). REF is a complete output of the
same COMMAND. One timed run gives the command's duration T and must equal REF
(same inputs, same bytes); then each case runs COMMAND in a fresh directory,
half of them holding a previous output ("previous contents\\n"), and ends it:

  * random: SIGKILL after a delay drawn uniformly from [0, 1.1 T] (seeded,
    so a failure can be replayed with the printed seed);
  * write: SIGKILL as soon as the temporary output file appears, i.e. while
    the output is being written (up to 4 runs, until one is killed before
    its rename; best effort: the fsize runs stop the write deterministically);
  * fsize (F runs, default 2): the file size limit (RLIMIT_FSIZE) set to
    half of REF, so the write itself fails or kills the process (SIGXFSZ)
    halfway, whatever the timing.

After each case the directory may hold only: no output, the previous output
untouched, or a complete output equal to REF; and at most one temporary file,
named ".<name>.tmp-<pid of the killed run>-XXXXXX". Any other file, a
partial output, or a lost previous output is a failure. The run's TMPDIR
(a directory of its own) may hold only the killed run's ptxas scratch
directory, "quamba-ptxas-<pid>-XXXXXX", and nothing after a run that ended
by itself. Where a temporary file or scratch directory is left (in the first
K such cases: each run costs T), the command is run again: it must succeed,
write REF, and remove both. Prints "ok" when every check held;
exits 1 with the failures otherwise.
"""

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import time

PREVIOUS = b"previous contents\n"


class Failure(Exception):
    pass


def run_case(command, directory, name, reference, previous, mode, rerun, delay=0.0,
             size_limit=None):
    """Runs one case; returns (temporary file left, the run was killed mid-write)."""
    os.makedirs(directory)
    out = os.path.join(directory, name)
    if previous:
        with open(out, "wb") as f:
            f.write(PREVIOUS)
    tmp = os.path.join(directory, "tmp")  # ptxas's temporaries, away from the output
    os.makedirs(tmp)

    def limits():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (size_limit, size_limit))

    argv = [out if a == "{out}" else a for a in command]
    env = dict(os.environ, TMPDIR=tmp)
    temp_pattern = re.compile(r"^\." + re.escape(name) + r"\.tmp-(\d+)-[A-Za-z0-9]{6}$")
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=limits, env=env)
    seen_temp = False
    if mode == "random":
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
    elif mode == "write":
        while process.poll() is None:
            if any(temp_pattern.match(e) for e in os.listdir(directory)):
                process.kill()
                seen_temp = True
                break
            time.sleep(0.0002)
    code = process.wait()
    if mode == "fsize" and code == 0:
        raise Failure(f"{directory}: the run succeeded under a file size limit of {size_limit} "
                      "bytes, below the output's size")

    scratch_pattern = re.compile(r"^quamba-ptxas-(\d+)-[A-Za-z0-9]{6}$")
    scratch = sorted(os.listdir(tmp))
    killed = code < 0
    for entry in scratch:
        match = scratch_pattern.match(entry)
        if not killed or not match or int(match.group(1)) != process.pid:
            raise Failure(f"{directory}: TMPDIR holds {entry} after a run that "
                          f"{'was killed (pid ' + str(process.pid) + ')' if killed else 'ended by itself'}")

    entries = sorted(os.listdir(directory))
    temps = [e for e in entries if temp_pattern.match(e)]
    others = [e for e in entries if e not in temps and e not in (name, "tmp")]
    if others:
        raise Failure(f"{directory}: unexpected files after the kill: {others}")
    for temp in temps:
        if int(temp_pattern.match(temp).group(1)) != process.pid:
            raise Failure(f"{directory}: temporary file {temp} is not the killed run's "
                          f"(pid {process.pid})")
    if len(temps) > 1:
        raise Failure(f"{directory}: more than one temporary file: {temps}")
    if os.path.exists(out):
        with open(out, "rb") as f:
            data = f.read()
        allowed = (PREVIOUS, reference) if previous else (reference,)
        if data not in allowed:
            raise Failure(f"{directory}: {name} holds {len(data)} bytes that are not "
                          f"{'the previous output nor ' if previous else ''}the complete "
                          f"output ({len(reference)} bytes)")
    elif previous:
        raise Failure(f"{directory}: the previous {name} was removed")

    if (temps or scratch) and rerun:
        # The next run removes the temporary file and scratch the killed one left.
        again = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if again.returncode != 0:
            raise Failure(f"{directory}: the run after the kill failed: "
                          f"{again.stderr.decode(errors='replace')}")
        left = sorted(e for e in os.listdir(directory) if e != "tmp")
        if left != [name]:
            raise Failure(f"{directory}: after the next run the directory holds {left}")
        with open(out, "rb") as f:
            if f.read() != reference:
                raise Failure(f"{directory}: the next run's {name} differs from the reference")
        if os.listdir(tmp):
            raise Failure(f"{directory}: after the next run TMPDIR holds {sorted(os.listdir(tmp))}")
    return bool(temps or scratch), seen_temp and bool(temps)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--fsize", type=int, default=2)
    parser.add_argument("--reruns", type=int, default=2)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if "{out}" not in command:
        parser.error("the command must contain {out}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    name = os.path.basename(args.reference)
    with open(args.reference, "rb") as f:
        reference = f.read()
    os.makedirs(args.work)
    print(f"seed {seed}")

    failures = []
    try:
        timed = os.path.join(args.work, "timed")
        start = time.monotonic()
        run_case(command, timed, name, reference, previous=False, mode="random", rerun=False,
                 delay=1e9)
        duration = time.monotonic() - start
        if not os.path.exists(os.path.join(timed, name)):
            raise Failure("the timed run wrote no output")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1

    counts = {"temporary left": 0, "killed mid-write": 0}
    # Every other run has a previous output to keep, the first fsize run too.
    cases = [("random", i % 2 == 1, {"delay": rng.uniform(0.0, 1.1 * duration)})
             for i in range(args.kills)]
    cases += [("fsize", i % 2 == 0, {"size_limit": len(reference) // 2})
              for i in range(args.fsize)]
    for index, (mode, previous, extra) in enumerate(cases):
        try:
            left, mid_write = run_case(command, os.path.join(args.work, f"{mode}-{index}"), name,
                                       reference, previous=previous, mode=mode,
                                       rerun=counts["temporary left"] < args.reruns, **extra)
            counts["temporary left"] += left
        except Failure as e:
            failures.append(str(e))
    # Killed while writing: retried until a kill lands between the temporary
    # file's creation and its rename (a few milliseconds for small outputs).
    for attempt in range(4):
        try:
            left, mid_write = run_case(command, os.path.join(args.work, f"write-{attempt}"), name,
                                       reference, previous=attempt % 2 == 0, mode="write",
                                       rerun=counts["temporary left"] < args.reruns)
            counts["temporary left"] += left
            if mid_write:
                counts["killed mid-write"] += 1
                break
        except Failure as e:
            failures.append(str(e))
            break
    print(f"{len(cases)} kills and fsize limits, {attempt + 1} write kills "
          f"(run {duration:.2f} s): {counts['temporary left']} left a temporary file, "
          f"{counts['killed mid-write']} killed while writing")
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
