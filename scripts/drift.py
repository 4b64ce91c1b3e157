#!/usr/bin/env python3
"""Long generations: how far each quantized mode's logits drift from the fp32
model over many decode steps (docs/robustness.md, "Long generations").

    scripts/drift.py [--models DIR,DIR] [--modes fp16,w8a8,...] [--steps 8192]
                     [--calib FILE] [--text FILE] [--out docs] [--work DIR]
                     [--device cpu]

For each checkpoint (default: the two bundled models) it compiles the fp32
reference and every mode with quamba-compile, then runs
`quamba-run MODE.qmb --drift fp32.qmb --text TEXT --steps N --trace ...`:
both models read TEXT token by token through their decode path (teacher
forcing), and every step compares the logits. It writes, under --out:

  drift-<model>.png   KL(fp32 || mode) per step, the mean of each 64-step bin
                      (log scale), one line per mode
  drift.json          every run's summary (quamba-run's JSON, windows of 1024)

and prints a Markdown table of the windows. The compiled models, the
per-step traces and each run's JSON stay in --work (default: a temporary
directory, removed); a rerun with the same --work reuses the runs it finds
there.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BIN", os.path.join(ROOT, "build", "bin"))
BIN_STEPS = 64
NEGLIGIBLE_KL = 1e-6


def run(argv, **kwargs):
    print("+ " + " ".join(argv), file=sys.stderr, flush=True)
    return subprocess.run(argv, check=True, **kwargs)


def group_size(checkpoint):
    """128, the default, where d_model allows it (in_proj's K), else 64."""
    with open(os.path.join(checkpoint, "config.json")) as f:
        config = json.load(f)
    d_model = config.get("d_model", config.get("hidden_size", 128))
    return 128 if d_model % 128 == 0 else 64


def compile_model(checkpoint, mode, calib, out):
    argv = [os.path.join(BIN, "quamba-compile"), checkpoint, "--mode", mode, "-o", out]
    if mode not in ("fp32", "fp16"):
        argv += ["--calib", calib, "--group-size", str(group_size(checkpoint))]
    run(argv)


def read_trace(path):
    """The per-step KL column of a --trace file (step 0, prefill, dropped)."""
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        column = header.index("kl")
        return [float(line.split("\t")[column]) for line in f][1:]


def binned(values, width):
    """(first step of the bin, mean) for each bin of `width` decode steps."""
    points = []
    for start in range(0, len(values), width):
        chunk = values[start:start + width]
        points.append((start + 1, sum(chunk) / len(chunk)))
    return points


def plot(model, traces, steps, out):
    series, negligible = [], []
    for mode, kl in traces.items():
        if max(kl) < NEGLIGIBLE_KL:
            # Rounding-level (fp16 of bf16 weights): drawn, it would only
            # stretch the log axis by ten decades.
            negligible.append(mode)
            continue
        points = binned(kl, BIN_STEPS)
        series.append({"name": mode, "x": [p[0] for p in points],
                       "y": [p[1] for p in points], "style": "line"})
    note = f" ({', '.join(negligible)}: < {NEGLIGIBLE_KL:g} at every step)" if negligible else ""
    spec = {"title": f"{model}: KL(fp32 || mode), mean of {BIN_STEPS}-step bins{note}",
            "x_label": "decode step", "y_label": "KL, nats", "y_log": True,
            "x_min": 0, "x_max": steps, "series": series}
    run([sys.executable, os.path.join(ROOT, "scripts", "plot.py"), "-", "-o", out],
        input=json.dumps(spec).encode())


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(
        os.path.join(ROOT, "models", m) for m in ("mamba2-bytes-6m", "mamba1-bytes-3m")))
    parser.add_argument("--modes", default="fp16,w8a8,w4a8,w4a16,w4ax")
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--window", type=int, default=1024)
    parser.add_argument("--calib", default=os.path.join(ROOT, "models", "calibration-mix.txt"))
    parser.add_argument("--text", default=os.path.join(ROOT, "models", "austen-heldout.txt"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    work = args.work or tempfile.mkdtemp(prefix="quamba-drift-")
    os.makedirs(work, exist_ok=True)
    summaries = []
    try:
        for checkpoint in args.models.split(","):
            model = os.path.basename(os.path.normpath(checkpoint))
            reference = os.path.join(work, f"{model}-fp32.qmb")
            if not os.path.exists(reference):
                compile_model(checkpoint, "fp32", args.calib, reference)
            traces = {}
            for mode in args.modes.split(","):
                artifact = os.path.join(work, f"{model}-{mode}.qmb")
                trace = os.path.join(work, f"{model}-{mode}.tsv")
                saved = os.path.join(work, f"{model}-{mode}.json")
                if os.path.exists(saved) and os.path.exists(trace):
                    # A run of this --work directory did it (reruns resume).
                    with open(saved) as f:
                        output = f.read()
                else:
                    if not os.path.exists(artifact):  # written atomically: complete
                        compile_model(checkpoint, mode, args.calib, artifact)
                    output = run([os.path.join(BIN, "quamba-run"), artifact, "--drift", reference,
                                  "--text", args.text, "--steps", str(args.steps),
                                  "--window", str(args.window), "--device", args.device,
                                  "--trace", trace], stdout=subprocess.PIPE).stdout.decode()
                    with open(saved, "w") as f:
                        f.write(output)
                summary = json.loads(output)
                for key in ("reference", "text"):
                    summary[key] = os.path.basename(summary[key])
                summary.update(artifact=os.path.basename(summary["model"]), model=model,
                               mode=mode)
                summaries.append(summary)
                traces[mode] = read_trace(trace)
            plot(model, traces, args.steps, os.path.join(args.out, f"drift-{model}.png"))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    tmp = os.path.join(args.out, ".drift.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summaries, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, os.path.join(args.out, "drift.json"))

    print("| model | mode | steps | mean KL | mean max abs dlogit | top-1 agree | nll / ref nll |")
    print("|---|---|---|---|---|---|---|")
    for s in summaries:
        for w in s["windows"]:
            print(f"| {s['model']} | {s['mode']} | {w['first']}-{w['last']} | {w['mean_kl']:.4f} | "
                  f"{w['mean_max_abs']:.3f} | {100 * w['top1_agreement']:.1f} % | "
                  f"{w['nll']:.4f} / {w['reference_nll']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
