"""Shared fixtures: the ddim binary to compare with (DDIM_BINARY), and a tiny denoiser it trained.

ctest runs these tests with PYTHONPATH set to the build tree's python/ (or an install prefix's
site packages) and DDIM_BINARY to the CLI built beside it; both run on one thread, so that a call
and the command it mirrors compute the same bits."""

import os
import subprocess

import pytest
import torch

import ddim

DDIM = os.environ.get("DDIM_BINARY", "ddim")
SOURCE = os.environ.get("DDIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

torch.manual_seed(0)
ddim.set_threads(1)

TINY = ["--widths", "8,16", "--block-depth", "1", "--embedding-dims", "8", "--batch", "8",
        "--preview-samples", "4", "--preview-steps", "2", "--log-every", "2"]


def run_cli(*args, check=True):
    """The ddim binary on one thread; returns the CompletedProcess."""
    r = subprocess.run([DDIM, "--threads", "1", *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("ddim %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A denoiser on 64 Fashion-MNIST images, trained for 6 steps by the CLI."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    run_cli("train", "--data", "fashion-mnist", "--limit", "64", "--steps", "6", "--out", out, *TINY)
    return str(out / "model.pt")


@pytest.fixture(scope="session")
def test_images():
    """Four Fashion-MNIST test images, unpadded (the model pads them as the CLI does)."""
    return ddim.data.load("fashion-mnist", split="test", limit=4, pad_to=0).images
