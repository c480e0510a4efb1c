"""The examples in examples/python run end to end (at their smallest size, on the tiny model)."""

import os
import subprocess
import sys

import ddim
from conftest import SOURCE

EXAMPLES = os.path.join(SOURCE, "examples", "python")


def run(script, *args):
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *map(str, args)], capture_output=True,
                       text=True, env=os.environ)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_refine_lowers_the_loss_and_writes_a_picture(tiny, tmp_path):
    out = run("refine_faces.py", "--model", tiny, "--embedder", "none", "--data", "fashion-mnist", "--n", 2,
              "--steps", 3, "--iters", 5, "--lr", 0.002, "--out", tmp_path / "r.png")
    loss = out.split("loss ")[1].split(";")[0].split(" -> ")
    assert float(loss[1]) < float(loss[0]), out
    assert (tmp_path / "r.png").stat().st_size > 0


def test_the_sweep_writes_its_table(tiny, tmp_path):
    out = run("sweep.py", "--model", tiny, "--data", "fashion-mnist", "--limit", 2, "--steps", "2,3",
              "--out", tmp_path / "s.md")
    assert out.count("| ddim |") == 2 and out.count("| fixed-point |") == 2
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 4


def test_the_readmes_python_line_runs(tmp_path):
    """README.md's `From Python` command, as written (from the source tree, where models/ is)."""
    readme = open(os.path.join(SOURCE, "README.md")).read()
    line = next(l for l in readme.splitlines() if l.startswith('PYTHONPATH=build/python python3 -c "'))
    code = line.split('python3 -c "', 1)[1].rsplit('"', 1)[0]
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SOURCE, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:2] == [ddim.__version__, "denoiser"] and "torch.Size([4, 1, 28, 28])" in r.stdout
