"""Embed a few test faces with the shipped embedder, then refine their seeds by gradient descent
written here in Python, through ddim's U-Net and an unrolled DDIM sampler (the seed paper's
Fig. 18, done by hand), and write a picture: originals / embedder / refined.

    PYTHONPATH=build/python python3 examples/python/refine_faces.py --out refine.png

The defaults use the shipped faces models (models/faces.pt, models/faces-embedder.pt) and the
rendered faces set (ddim data render-faces); --model, --embedder and --data take others.
"""

import argparse
import os

import torch

import ddim

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "models")


def unrolled_ddim(model, seeds, steps):
    """The deterministic DDIM sampler (Song et al. 2021, eq. 12 with sigma = 0), differentiable:
    x_{t-1} = s' x0_hat + n' eps, x0_hat = (x_t - n eps) / s, along ddim's own grid."""
    _, s, n = (r.float() for r in model.time_grid(steps))
    x = seeds
    for i in range(steps):
        eps = model.denoiser(x, n[i].square().expand(x.shape[0]))
        x0 = (x - n[i] * eps) / s[i]
        x = s[i + 1] * x0 + n[i + 1] * eps
    return model.to_data(x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(MODELS, "faces.pt"))
    p.add_argument("--embedder", default=os.path.join(MODELS, "faces-embedder.pt"),
                   help="an embedder model, or 'none' to start from plain DDIM inversion")
    p.add_argument("--data", default="faces", help="a data spec (--data of the CLI)")
    p.add_argument("--n", type=int, default=6, help="test images")
    p.add_argument("--steps", type=int, default=10, help="DDIM steps S")
    p.add_argument("--iters", type=int, default=50, help="gradient-descent iterations")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--out", default="refine.png")
    a = p.parse_args()

    torch.manual_seed(0)
    model = ddim.load(a.model)
    for q in model.parameters():
        q.requires_grad_(False)  # the seeds are what we optimise
    top, bottom, left, right = model.data.get("padding", [0, 0, 0, 0])
    side = model.data["shape"][-1] - left - right  # the images' own size, without the padding
    images = ddim.data.load(a.data, split="test", limit=a.n, resize=side if a.data.startswith("faces") else 0,
                            pad_to=0).images
    embedder = None if a.embedder == "none" else ddim.load(a.embedder)
    first = model.embed(images, method="embedder" if embedder else "ddim", steps=a.steps, embedder=embedder)
    seeds = first["seeds"].clone().requires_grad_(True)
    target = torch.nn.functional.pad(images, (left, right, top, bottom))  # the model's padded shape
    opt = torch.optim.Adam([seeds], lr=a.lr)

    def loss_of(z):
        return (unrolled_ddim(model, z, a.steps) - target).abs().mean() + 0.005 * z.square().mean()

    with torch.no_grad():
        before = float(loss_of(seeds))
    for _ in range(a.iters):
        opt.zero_grad()
        loss = loss_of(seeds)
        loss.backward()
        opt.step()
    with torch.no_grad():
        start = model.sample(seeds=first["seeds"], steps=a.steps)
        refined = model.sample(seeds=seeds.detach(), steps=a.steps)
        after = float(loss_of(seeds))
    originals = images  # samples come with the padding cropped
    rows = torch.cat([originals, start, refined])
    ddim.write_png(a.out, ddim.make_grid(rows, images.shape[0]))
    mse = lambda x: float((x - originals).square().mean())  # noqa: E731
    print("loss %.5f -> %.5f; MSE %s %.5f -> refined %.5f; wrote %s"
          % (before, after, "embedder" if embedder else "DDIM inversion", mse(start), mse(refined), a.out))


if __name__ == "__main__":
    main()
