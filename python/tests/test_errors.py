"""Errors are Python exceptions with ddim's one-line message; Ctrl-C stops a long call."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import ddim


def test_a_truncated_checkpoint_is_a_file_error_naming_it(tiny, tmp_path):
    data = open(tiny, "rb").read()
    bad = tmp_path / "cut.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ddim.FileError, match="cut.pt") as e:
        ddim.load(bad)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, ddim.Error) and isinstance(e.value, OSError)
    with pytest.raises(ddim.FileError, match="absent.pt"):
        ddim.load(tmp_path / "absent.pt")


def test_bad_values_are_usage_errors(tiny):
    m = ddim.load(tiny)
    with pytest.raises(ddim.UsageError, match="method"):
        m.embed(torch.rand(1, 1, 28, 28), method="nope")
    with pytest.raises(ddim.UsageError, match=r"\[N, C, H, W\]"):
        m.reconstruct(torch.rand(28, 28))
    with pytest.raises(ddim.UsageError, match="seeds: expected"):
        m.sample(seeds=torch.randn(2, 3, 8, 8))
    with pytest.raises(ddim.UsageError, match="stepz"):
        ddim.run("sample", model=tiny, stepz=3)
    with pytest.raises(ValueError):  # UsageError is a ValueError
        ddim.data.load("fashion-mnist", split="validation")


def test_nothing_is_half_written(tiny, tmp_path):
    m = ddim.load(tiny)
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ddim.FileError, match="file"):
        m.save(tmp_path / "file" / "m.pt")
    m.save(tmp_path / "m.pt")
    before = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "m.pt").chmod(0o444)
    os.chmod(tmp_path, 0o555)  # the folder refuses the new file: the old one stays whole
    try:
        if os.geteuid() != 0:  # root writes anywhere
            with pytest.raises(ddim.FileError):
                m.save(tmp_path / "m.pt")
    finally:
        os.chmod(tmp_path, 0o755)
    assert (tmp_path / "m.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "m.pt"]  # no temporary left


LONG_CALL = """
import sys, time, torch, ddim
ddim.set_threads(1)
m = ddim.load(sys.argv[1])
print("ready", flush=True)
try:
    m.sample(n=4096, steps=1000)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
"""


def test_ctrl_c_interrupts_a_long_call_within_a_second(tiny):
    p = subprocess.Popen([sys.executable, "-c", LONG_CALL, tiny], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=os.environ)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)  # inside the sampler
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        line = p.stdout.readline().strip()  # printed by the except clause, before the exit
        took = time.monotonic() - start
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert line == "interrupted", line + out
    assert took < 1.0, "KeyboardInterrupt came %.2f s after the signal" % took
    assert "KeyboardInterrupt" in err


LONG_TRAINING = """
import sys, ddim
ddim.set_threads(1)
print("ready", flush=True)
ddim.train(data="fashion-mnist", out=sys.argv[1], limit=64, steps=100000, widths="8,16", block_depth=1,
           embedding_dims=8, batch=8, preview_samples=0, checkpoint_every=5,
           on_step=lambda s, n, st: print("step", s, flush=True) if s == 3 else None)
"""


def test_ctrl_c_stops_a_training_run_with_its_checkpoint_written(tmp_path):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-c", LONG_TRAINING, str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=os.environ)
    assert p.stdout.readline().strip() == "ready"
    while p.stdout.readline().strip() != "step 3":
        pass
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out_text, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert time.monotonic() - start < 5.0
    assert "KeyboardInterrupt" in err
    assert (out / "model.pt").is_file() or any((out / "checkpoints").iterdir())
    ddim.load(out / "checkpoints" / sorted(os.listdir(out / "checkpoints"))[-1])  # whole, loadable
