"""The paper's denoising U-Net and its training step, in eager PyTorch.

The baseline that `ddim bench` is compared against: the same network (keras.io DDIM design,
as the seed paper's code), the same loss (MAE on the noise), AdamW and EMA, written the way a
PyTorch user would write it. Used by bench/run.sh; not part of ddim itself.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal_embedding(v, dims, max_frequency=1000.0):
    freqs = torch.exp(torch.linspace(math.log(1.0), math.log(max_frequency), dims // 2, device=v.device))
    angles = 2.0 * math.pi * v.view(-1, 1) * freqs.view(1, -1)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.residual = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.norm = nn.BatchNorm2d(cin, affine=False, eps=1e-3, momentum=0.01)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x):
        r = self.residual(x) if self.residual is not None else x
        h = F.silu(self.conv1(self.norm(x)))
        return self.conv2(h) + r


class UNet(nn.Module):
    """Module names match ddim's, so `ddim export` output loads with load_state_dict."""

    def __init__(self, channels=1, widths=(32, 64, 96, 128), block_depth=2, embedding_dims=32, noise_input=True):
        """noise_input=False: no noise-variance embedding (ddim's U-Net embedder, image -> seed)."""
        super().__init__()
        self.embedding_dims = embedding_dims if noise_input else 0
        self.levels = len(widths) - 1
        self.block_depth = block_depth
        self.stem = nn.Conv2d(channels, widths[0], 1)
        cin, skips = widths[0] + self.embedding_dims, []
        for l in range(self.levels):
            for d in range(block_depth):
                setattr(self, f"down{l}_{d}", ResidualBlock(cin, widths[l]))
                cin = widths[l]
                skips.append(cin)
        for d in range(block_depth):
            setattr(self, f"middle_{d}", ResidualBlock(cin, widths[-1]))
            cin = widths[-1]
        for l in reversed(range(self.levels)):
            for d in range(block_depth):
                setattr(self, f"up{l}_{d}", ResidualBlock(cin + skips.pop(), widths[l]))
                cin = widths[l]
        self.head = nn.Conv2d(widths[0], channels, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x, noise_variance=None):
        x = self.stem(x)
        if self.embedding_dims:
            e = sinusoidal_embedding(noise_variance, self.embedding_dims)
            x = torch.cat([x, e.view(x.shape[0], -1, 1, 1).expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        skips = []
        for l in range(self.levels):
            for d in range(self.block_depth):
                x = getattr(self, f"down{l}_{d}")(x)
                skips.append(x)
            x = F.avg_pool2d(x, 2)
        for d in range(self.block_depth):
            x = getattr(self, f"middle_{d}")(x)
        for l in reversed(range(self.levels)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            for d in range(self.block_depth):
                x = getattr(self, f"up{l}_{d}")(torch.cat([x, skips.pop()], dim=1))
        return self.head(x)


def continuous_cosine(t, s_min=0.02, s_max=0.95):
    start, end = math.acos(s_max), math.acos(s_min)
    theta = start + t * (end - start)
    return torch.cos(theta), torch.sin(theta)
