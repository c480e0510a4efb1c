"""What a Python call costs over the C++ call: the denoiser's forward pass through `import ddim`
(model.denoiser in a Python loop, under torch.no_grad) against the same passes in a C++ loop in
the same process, at batch 1 (where overhead shows) and batch 64. One JSON line per batch.

    PYTHONPATH=build/python python3 bench/python_overhead.py [--model M] [--reps N] [--threads T]
"""

import argparse
import json
import os
import platform
import time

import torch

import ddim

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(HERE, "..", "models", "fashion-mnist.pt"))
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported")
    p.add_argument("--batches", default="1,64")
    p.add_argument("--threads", type=int, default=0, help="0: every CPU")
    a = p.parse_args()
    threads = ddim.set_threads(a.threads)
    model = ddim.load(a.model)
    shape = model.data["shape"]
    for batch in (int(b) for b in a.batches.split(",")):
        x = torch.randn(batch, *shape)
        v = torch.full((batch,), 0.5)
        reps = max(1, a.reps if batch == 1 else a.reps // 10)
        with torch.no_grad():
            model.denoiser(x, v)  # warm-up
            py, cpp = [], []
            for _ in range(a.rounds):
                start = time.perf_counter()
                for _ in range(reps):
                    model.denoiser(x, v)
                py.append((time.perf_counter() - start) / reps)
                cpp.append(ddim._ddim._time_denoiser(model._core, x, v, reps) / reps)
        py_s, cpp_s = sorted(py)[len(py) // 2], sorted(cpp)[len(cpp) // 2]
        print(json.dumps({"bench": "python_overhead", "model": os.path.basename(a.model), "batch": batch,
                          "reps": reps, "rounds": a.rounds, "threads": threads, "cpu": cpu_name(),
                          "python_call_us": py_s * 1e6, "cpp_call_us": cpp_s * 1e6,
                          "overhead_us": (py_s - cpp_s) * 1e6, "ratio": py_s / cpp_s}))


if __name__ == "__main__":
    main()
