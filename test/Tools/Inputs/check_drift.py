#!/usr/bin/env python3
"""Holds a `quamba-run --drift` result to a stated bound (docs/robustness.md,
"Long generations"):

    check_drift.py RESULT.json --steps N --max-mean-kl K --min-top1 A --max-growth G

Checks that the run covered N decode steps with finite logits, that every
window's mean KL(reference || model) is at most K nats and its top-1
agreement at least A, and that the error does not grow with the generation:
the last window's mean KL is at most G times the first's (plus 1e-6 nats,
so that exact modes, KL 0, pass). Prints "ok", or each violation and exits 1.
"""

import argparse
import json
import sys


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("result")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--max-mean-kl", type=float, required=True)
    parser.add_argument("--min-top1", type=float, required=True)
    parser.add_argument("--max-growth", type=float, required=True)
    args = parser.parse_args(argv)
    with open(args.result) as f:
        result = json.load(f)
    name = result.get("model", args.result)
    failures = []
    if result.get("steps") != args.steps or not result.get("finite"):
        failures.append(f"ran {result.get('steps')} steps (finite: {result.get('finite')}), "
                        f"expected {args.steps} with finite logits")
    windows = result.get("windows", [])
    if not windows:
        failures.append("no windows")
    for w in windows:
        where = f"steps {w['first']}-{w['last']}"
        if w["mean_kl"] > args.max_mean_kl:
            failures.append(f"{where}: mean KL {w['mean_kl']:.4g} > {args.max_mean_kl}")
        if w["top1_agreement"] < args.min_top1:
            failures.append(f"{where}: top-1 agreement {w['top1_agreement']:.3f} < {args.min_top1}")
    if windows and windows[-1]["mean_kl"] > args.max_growth * windows[0]["mean_kl"] + 1e-6:
        failures.append(f"the error grows: last window's mean KL {windows[-1]['mean_kl']:.4g} > "
                        f"{args.max_growth} x the first's {windows[0]['mean_kl']:.4g}")
    for failure in failures:
        print(f"FAIL {name}: {failure}")
    if not failures:
        print(f"ok {name}: " + ", ".join(f"{w['mean_kl']:.4f}" for w in windows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
