"""ddim: DDIM diffusion denoisers, their seed space, and embedding images into it.

The same C++ library as the ``ddim`` command, on the same LibTorch as this Python's PyTorch:
tensors pass both ways as the same objects (no copies), and autograd reaches through ddim's
networks.

    import ddim
    model = ddim.load("models/fashion-mnist-unet.pt")       # any kind of ddim model file
    test = ddim.data.load("fashion-mnist", split="test", limit=16)
    r = model.reconstruct(test.images, method="fixed-point", steps=10)
    print(r["metrics"]["mean"])                               # as the CLI's metrics.json
    images = model.sample(n=16, seed=0, steps=10)             # as `ddim sample --n 16`

Every command of the CLI also runs in this process: ``ddim.train(data=..., out=...)``,
``ddim.run("analyze", "independence", model=..., out=...)`` and ``ddim.cli([...])``.

Errors raise ``ddim.UsageError`` (a bad argument: the CLI's exit status 2) or
``ddim.FileError`` (a missing, corrupt or unwritable file: status 1), both ``ddim.Error``,
with ddim's one-line message. Ctrl-C stops a long call promptly (KeyboardInterrupt); a
trainer saves its checkpoint first. The GIL is released while ddim computes. Threads follow
``ddim.set_threads`` (or ``torch.set_num_threads``: one pool).
"""

import torch  # first: loads LibTorch and the tensor types the extension exchanges

from . import _ddim
from ._ddim import Error, FileError, UsageError, make_grid, seed_to_image, set_threads, torch_version, write_png
from . import commands, data
from .commands import RunResult, cli, run, train, train_classifier, train_embedder, train_gae, train_latent
from .model import Model, load

__version__ = _ddim.__version__

__all__ = [
    "Error",
    "FileError",
    "Model",
    "RunResult",
    "UsageError",
    "__version__",
    "cli",
    "commands",
    "data",
    "load",
    "load_tensor",
    "make_grid",
    "seed_to_image",
    "run",
    "set_threads",
    "torch_version",
    "train",
    "train_classifier",
    "train_embedder",
    "train_gae",
    "train_latent",
    "write_png",
]


def load_tensor(path):
    """Reads a tensor file ddim wrote (seeds.pt, samples.pt, ...) as a torch.Tensor.

    ddim's reader: a truncated or hostile file raises ddim.FileError naming it."""
    return _ddim.load_tensor(str(path))
