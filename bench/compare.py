"""Runs a ddim benchmark and its PyTorch baseline alternately (A B A B ...) and reports the
median of each and the median of the pairwise ratios ddim/PyTorch, as one JSON line.
Alternating pairs keep the comparison fair when the machine's speed drifts.

    python3 bench/compare.py --rounds 5 -- train --widths 32,64,96,128 --batch 64 --iters 10
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ddim", default=os.path.join(HERE, "..", "build", "ddim"))
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="0: all CPUs this process may use")
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (PyTorch 2)")
    p.add_argument("--bf16", action="store_true",
                   help="also time both in bf16 autocast (ddim --bf16 against torch.autocast)")
    p.add_argument("what", choices=["train", "sample"])
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args()
    args = [x for x in a.args if x != "--"]
    # The same explicit thread count for both (Debian's PyTorch would otherwise use one).
    n = a.threads or len(os.sched_getaffinity(0))
    threads = ["--threads", str(n)]
    ddim_cmd = [a.ddim, "bench", a.what, *args, "--device", a.device, *threads]
    py_cmd = [a.python, os.path.join(HERE, "pytorch_bench.py"), a.what, *args, "--device", a.device, *threads]
    impls = {"ddim": ddim_cmd, "pytorch-eager": py_cmd}
    if a.compile:
        impls["pytorch-compile"] = py_cmd + ["--compile"]
    if a.bf16:
        for k in list(impls):
            impls[k + "-bf16"] = impls[k] + ["--bf16"]
    results = {k: [] for k in impls}
    for _ in range(a.rounds):
        for k, cmd in impls.items():
            results[k].append(run(cmd))
    summary = {"what": a.what, "args": " ".join(args), "device": a.device, "rounds": a.rounds}
    for k, rs in results.items():
        summary[k] = {
            "images_per_s_median": statistics.median(r["images_per_s"] for r in rs),
            "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in rs),
        }
        if "peak_gpu_mb" in rs[0]:
            summary[k]["peak_gpu_mb_median"] = statistics.median(r["peak_gpu_mb"] for r in rs)
    # ddim against each baseline of the same precision, and what bf16 gives each.
    pairs = [("ddim", k) for k in impls if not k.startswith("ddim") and not k.endswith("-bf16")]
    pairs += [("ddim-bf16", k) for k in impls if not k.startswith("ddim") and k.endswith("-bf16")]
    pairs += [(k + "-bf16", k) for k in impls if k + "-bf16" in impls]
    for num, den in pairs:
        ratios = [d["images_per_s"] / b["images_per_s"] for d, b in zip(results[num], results[den])]
        name = "ratio_vs_" + den if num == "ddim" else "ratio_" + num + "_vs_" + den
        summary[name] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
    summary["threads"] = results["ddim"][0]["threads"]
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
