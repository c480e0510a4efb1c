"""A batch experiment: reconstruct test images with every embedding method at several step
counts and write a table (Markdown) and its rows (JSON lines) — the sweep a user would otherwise
script around the CLI, here in one process with the model loaded once.

    PYTHONPATH=build/python python3 examples/python/sweep.py --out sweep.md

Defaults: the shipped Fashion-MNIST model, 32 test images, S in {5, 10, 20}, plain DDIM
inversion and fixed-point inversion (the seed paper's Fig. 3 and Table 1 settings).
"""

import argparse
import json
import os
import time

import ddim

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(HERE, "..", "..", "models", "fashion-mnist.pt"))
    p.add_argument("--data", default=None, help="a data spec (default: the model's own data)")
    p.add_argument("--limit", type=int, default=32, help="test images")
    p.add_argument("--steps", default="5,10,20", help="DDIM steps S, comma-separated")
    p.add_argument("--methods", default="ddim,fixed-point", help="embedding methods, comma-separated")
    p.add_argument("--out", default="sweep.md", help="the table; its rows go to the same name .jsonl")
    a = p.parse_args()

    model = ddim.load(a.model)
    spec = a.data or model.data["spec"]
    images = ddim.data.load(spec, split="test", limit=a.limit, pad_to=0).images
    rows = []
    for method in a.methods.split(","):
        for steps in (int(s) for s in a.steps.split(",")):
            start = time.perf_counter()
            r = model.reconstruct(images, method=method, steps=steps)
            secs = time.perf_counter() - start
            mean = r["metrics"]["mean"]
            rows.append({"method": method, "steps": steps, "mse": mean["mse"], "psnr": mean["psnr"],
                         "ssim": mean["ssim"], "seconds": secs})
    with open(os.path.splitext(a.out)[0] + ".jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    with open(a.out, "w") as f:
        f.write("Reconstruction of %d test images of %s by %s\n\n" % (len(images), spec, os.path.basename(a.model)))
        f.write("| method | S | MSE | PSNR (dB) | SSIM | seconds |\n|---|---:|---:|---:|---:|---:|\n")
        for r in rows:
            f.write("| %s | %d | %.5f | %.2f | %.4f | %.2f |\n"
                    % (r["method"], r["steps"], r["mse"], r["psnr"], r["ssim"], r["seconds"]))
    print(open(a.out).read(), end="")


if __name__ == "__main__":
    main()
