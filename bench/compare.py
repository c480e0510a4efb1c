"""Runs a ddim benchmark and its baselines alternately (A B C A B C ...) and reports the median
of each and the median of the pairwise ratios ddim/baseline, as one JSON line. Alternating
rounds keep the comparison fair when the machine's speed drifts.

    python3 bench/compare.py --rounds 5 -- train --widths 32,64,96,128 --batch 64 --iters 10
    python3 bench/compare.py --onnxruntime ~/.cache/ddim/onnxruntime -- sample --batch 64 --iters 3
    python3 bench/compare.py --onnxruntime ~/.cache/ddim/onnxruntime -- invert --batch 64 --fixed-point 3
    python3 bench/compare.py -- train-embedder --batch 16 --iters 5 --steps 10

Baselines: eager PyTorch (bench/pytorch_bench.py), and for sampling and inversion ONNX Runtime on the same
network exported to ONNX (--onnxruntime: the folder npm installed onnxruntime-node into; fp32).
Each implementation's GFLOP/s and its fraction of the machine's 2048x2048 matrix-product rate
come from `ddim bench ... --profile` run once in the same process (the convolutions' FLOPs per
image, and the fp32 and bf16 product rates measured then).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from bench_args import add_network_arguments, add_run_arguments

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def profile(cmd):
    """The JSON line of `ddim bench ... --profile` (Markdown tables follow it)."""
    out = subprocess.run(cmd + ["--profile"], check=True, capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("{")))


def without(args, *names):
    """args less the options `names` and their values."""
    out, skip = [], False
    for x in args:
        if skip:
            skip = False
        elif x in names:
            skip = True
        elif not any(x.startswith(n + "=") for n in names):
            out.append(x)
    return out


def shape_args(args):
    """The network's and the run's options among the benchmark's arguments, as strings."""
    q = argparse.ArgumentParser(add_help=False)
    add_network_arguments(q)
    add_run_arguments(q)
    return argparse.Namespace(**{k: str(v) for k, v in vars(q.parse_known_args(args)[0]).items()})


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
    p.add_argument("--onnxruntime", metavar="DIR",
                   help="sample, invert: also ONNX Runtime (onnxruntime-node installed by npm under DIR), fp32")
    p.add_argument("--node", default="node")
    p.add_argument("what", choices=["train", "sample", "invert", "train-embedder"])
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
    model = None
    if a.onnxruntime and a.what in ("sample", "invert"):
        v = shape_args(args)
        model = tempfile.mkdtemp(prefix="ddim-onnx-")
        subprocess.run([a.python, os.path.join(HERE, "export_onnx.py"), "--out", model, "--widths", v.widths,
                        "--block-depth", v.block_depth, "--embedding-dims", v.embedding_dims, "--image-size",
                        v.image_size, "--channels", v.channels, "--batch", v.batch], check=True)
        impls["onnxruntime"] = [a.node, os.path.join(HERE, "ort_bench.mjs"), "--ort", a.onnxruntime, "--model", model,
                                "--batch", v.batch, "--channels", v.channels, "--image-size", v.image_size,
                                "--steps", v.steps, "--iters", v.iters, "--warmup", v.warmup, *threads]
        if a.what == "invert":
            impls["onnxruntime"] += ["--invert", "--fixed-point", v.fixed_point]
    # FLOPs per image and the machine's product rates, measured once in this run.
    rates = {}
    if a.device == "cpu":
        for bf16 in [False] + ([True] if a.bf16 else []):
            j = profile([a.ddim, "bench", a.what, *without(args, "--iters", "--warmup"), "--iters", "1", "--warmup", "1",
                         *threads]
                        + (["--bf16"] if bf16 else []))
            rates[bf16] = (j["gflop_per_iteration"] / j["batch"], j["gemm_gflop_s"])
    results = {k: [] for k in impls}
    try:
        for _ in range(a.rounds):
            for k, cmd in impls.items():
                results[k].append(run(cmd))
    finally:
        if model:
            shutil.rmtree(model, ignore_errors=True)
    summary = {"what": a.what, "args": " ".join(args), "device": a.device, "rounds": a.rounds}
    for k, rs in results.items():
        summary[k] = {
            "images_per_s_median": statistics.median(r["images_per_s"] for r in rs),
            "images_per_s_min": min(r["images_per_s"] for r in rs),
            "images_per_s_max": max(r["images_per_s"] for r in rs),
            "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in rs),
        }
        bf16 = k.endswith("-bf16")
        if bf16 in rates:
            gflop, gemm = rates[bf16]
            summary[k]["gflop_s"] = summary[k]["images_per_s_median"] * gflop
            summary[k]["fraction_of_gemm"] = summary[k]["gflop_s"] / gemm
            summary[k]["gemm_gflop_s"] = gemm
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
