"""Exports the paper's U-Net (bench/pytorch_unet.py, random weights) to ONNX for ONNX Runtime's
side of bench/run.sh's sampling comparison, with a reference input and output to check it by.

    python3 bench/export_onnx.py --out DIR [--widths 32,64,96,128 --block-depth 2
        --embedding-dims 32 --image-size 32 --channels 1 --batch 64]

Writes DIR/unet.onnx and DIR/reference.bin: float32 x [B, C, H, W], noise variance [B] and the
network's output [B, C, H, W], one after the other. torch 1.13's exporter takes the U-Net with a
fixed batch only (the embedding's expand), so the file is made for one batch size. The batch
norms get statistics away from (0, 1) and the head non-zero weights, so that the check means
something; speed does not depend on the values.
"""
import argparse
import os
import warnings

import torch

from bench_args import add_network_arguments
from pytorch_unet import UNet


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    add_network_arguments(p)
    a = p.parse_args()
    # The 1.13 exporter warns about shape inference of constants it handles.
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.manual_seed(0)
    net = UNet(a.channels, [int(w) for w in a.widths.split(",")], a.block_depth, a.embedding_dims)
    with torch.no_grad():
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.5)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
        torch.nn.init.normal_(net.head.weight, std=0.1)
    net.eval()
    shape = (a.batch, a.channels, a.image_size, a.image_size)
    x, v = torch.randn(shape), torch.rand(a.batch)
    os.makedirs(a.out, exist_ok=True)
    with torch.no_grad():
        eps = net(x, v)
        torch.onnx.export(net, (x, v), os.path.join(a.out, "unet.onnx"), input_names=["x", "noise_variance"],
                          output_names=["eps"], opset_version=13)
    with open(os.path.join(a.out, "reference.bin"), "wb") as f:
        for t in (x, v, eps):
            f.write(t.contiguous().numpy().astype("float32").tobytes())


if __name__ == "__main__":
    main()
