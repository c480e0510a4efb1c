"""Eager PyTorch baselines for `ddim bench`: training steps, DDIM sampling and DDIM (or
fixed-point) inversion of the paper's U-Net, and embedder training steps through the unrolled
sampler, timed the same way ddim times itself, printing one JSON line.

    python3 bench/pytorch_bench.py train --widths 32,64,96,128 --image-size 32 --channels 1 \
        --batch 64 --iters 20 --threads 2
    python3 bench/pytorch_bench.py sample ... --steps 10
    python3 bench/pytorch_bench.py invert ... --steps 10 --fixed-point 3
    python3 bench/pytorch_bench.py train-embedder ... --batch 16 --steps 10
"""
import argparse
import copy
import json
import resource
import time

import torch

from bench_args import add_network_arguments, add_run_arguments
from pytorch_unet import UNet, continuous_cosine


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["train", "sample", "invert", "train-embedder"])
    add_network_arguments(p)
    add_run_arguments(p)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true", help="torch.compile the network (PyTorch 2)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast around the network")
    # PyTorch recommends channels-last for CPU convolutions (oneDNN's native layout); the
    # baseline a user would run, so it is the default.
    p.add_argument("--memory-format", choices=["channels-last", "contiguous"], default="channels-last")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    widths = [int(w) for w in a.widths.split(",")]
    layout = torch.channels_last if a.memory_format == "channels-last" else torch.contiguous_format
    net = UNet(a.channels, widths, a.block_depth, a.embedding_dims).to(dev, memory_format=layout)
    compiled = torch.compile(net) if a.compile else net

    def fwd(x, v):
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            return compiled(x, v).float()

    shape = (a.batch, a.channels, a.image_size, a.image_size)

    def sample_from(x):
        """The DDIM sampler (a.steps steps, eta = 0) from seeds x: what sampling times, and what
        embedder training backpropagates through."""
        for k in range(a.steps):
            t = 1.0 - k / a.steps
            s, n = continuous_cosine(torch.tensor(t))
            eps = fwd(x, torch.full((a.batch,), float(n * n), device=dev))
            x0_hat = (x - n * eps) / s
            if k + 1 < a.steps:
                s2, n2 = continuous_cosine(torch.tensor(t - 1.0 / a.steps))
                x = s2 * x0_hat + n2 * eps
            else:
                x = x0_hat
        return x
    x0 = torch.randn(shape, device=dev).contiguous(memory_format=layout)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if a.what == "train":
        ema = copy.deepcopy(net).eval()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)

        def step():
            net.train()
            t = torch.rand(a.batch, device=dev)
            eps = torch.randn(shape, device=dev).contiguous(memory_format=layout)
            s, n = continuous_cosine(t)
            s, n = s.view(-1, 1, 1, 1), n.view(-1, 1, 1, 1)
            pred = fwd(s * x0 + n * eps, (n * n).view(-1))
            loss = (pred - eps).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), net.parameters()):
                    pe.mul_(0.999).add_(pm, alpha=0.001)
                for be, bm in zip(ema.buffers(), net.buffers()):
                    if be.is_floating_point():
                        be.mul_(0.999).add_(bm, alpha=0.001)
                    else:
                        be.copy_(bm)
            return loss
    elif a.what == "train-embedder":
        # ddim's train-embedder: a U-Net without the noise input maps images to seeds, S DDIM
        # steps of the frozen denoiser (eval mode, no weight gradients) map them back, and the
        # MAE to the images in [0, 1] trains the embedder (Adam, lr 1e-4). The de-standardisation
        # is an affine map, as ddim's.
        net.eval()
        for q in net.parameters():
            q.requires_grad_(False)
        embedder = UNet(a.channels, widths, a.block_depth, noise_input=False).to(dev, memory_format=layout)
        opt = torch.optim.Adam(embedder.parameters(), lr=1e-4)
        images = torch.rand(shape, device=dev).contiguous(memory_format=layout)

        def step():
            embedder.train()
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
                x = embedder(images)
            x = sample_from(x.float())
            loss = ((x * 0.3 + 0.5).clamp(0, 1) - images).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss
    elif a.what == "invert":
        net.eval()

        @torch.no_grad()
        def step():
            # From the data end of the grid to the noise end; the target label, as ddim's default.
            x = torch.randn(shape, device=dev).contiguous(memory_format=layout)
            for k in range(a.steps):
                s, n = continuous_cosine(torch.tensor(k / a.steps))
                s2, n2 = continuous_cosine(torch.tensor((k + 1) / a.steps))
                v = torch.full((a.batch,), float(n2 * n2), device=dev)
                eps = fwd(x, v)
                x_next = s2 * (x - n * eps) / s + n2 * eps
                for _ in range(a.fixed_point):  # x' = s'(x - n eps(x'))/s + n' eps(x')
                    eps = fwd(x_next, v)
                    x_next = s2 * (x - n * eps) / s + n2 * eps
                x = x_next
            return x
    else:
        net.eval()

        @torch.no_grad()
        def step():
            return sample_from(torch.randn(shape, device=dev).contiguous(memory_format=layout))

    for _ in range(a.warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(a.iters):
        step()
    sync()
    elapsed = time.perf_counter() - start
    out = {
        "impl": "pytorch-eager" + ("+compile" if a.compile else ""),
        "bf16": a.bf16,
        "memory_format": a.memory_format,
        "what": a.what,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": a.batch,
        "iters": a.iters,
        "seconds": elapsed,
        "images_per_s": a.batch * a.iters / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    if dev.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if a.what != "train":
        out["steps"] = a.steps
    if a.what == "invert":
        out["fixed_point"] = a.fixed_point
    print(json.dumps(out))


if __name__ == "__main__":
    main()
