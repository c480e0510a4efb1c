"""Every command of the ddim CLI, run in this process (tools/ddim/cli.h).

``run("sample", model="m.pt", n=16, out="s")`` is ``ddim sample --model m.pt --n 16 --out s``:
the same parser, defaults, run directory, files and bits, without a second process. Keyword
arguments become options: ``class_conditional=True`` is ``--class-conditional``, False or None
leave an option out, a list repeats it (``where=["male=yes", "smiling=no"]``). Positional
arguments follow the command (``run("analyze", "independence", ...)``).
"""

import functools
import json
import os

import torch

from . import _ddim


class RunResult:
    """What a command left: its exit ``status``, its ``out`` directory, every JSON file there
    (``json["metrics.json"]``), its metrics.jsonl lines (``metrics``, training), and
    ``tensor(name)`` to read a tensor file it wrote. The files are read once, when first asked."""

    def __init__(self, status, out):
        self.status = status
        self.out = out

    @functools.cached_property
    def json(self):
        found = {}
        if self.out and os.path.isdir(self.out):
            for name in sorted(os.listdir(self.out)):
                if name.endswith(".json"):
                    with open(os.path.join(self.out, name)) as f:
                        found[name] = json.load(f)
        return found

    @functools.cached_property
    def metrics(self):
        path = os.path.join(self.out or "", "metrics.jsonl")
        if not os.path.isfile(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def tensor(self, name):
        """A tensor file of the run directory (seeds.pt, samples.pt, ...), read by ddim."""
        return _ddim.load_tensor(os.path.join(self.out, name))

    def __repr__(self):
        return "<ddim.RunResult status=%d out=%r>" % (self.status, self.out)


def _arguments(options):
    args = []
    for key, value in options.items():
        flag = "--" + key.rstrip("_").replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            for v in value:
                args += [flag, str(v)]
        else:
            args += [flag, str(value)]
    return args


def cli(args, on_progress=None):
    """Runs a ddim command line (a list, without the program name) in this process; returns its
    exit status. Threads default to torch's (``--threads`` overrides). Raises UsageError or
    FileError as the CLI would exit 2 or 1, and KeyboardInterrupt when Ctrl-C stopped it (a
    trainer has saved its checkpoint by then)."""
    args = [str(a) for a in args]
    if not any(a == "--threads" or a.startswith("--threads=") for a in args):
        args = ["--threads", str(torch.get_num_threads())] + args
    status = _ddim.cli(args, on_progress)
    if status >= 128:
        raise KeyboardInterrupt("ddim stopped by signal %d" % (status - 128))
    if status != 0:
        raise _ddim.Error("ddim %s exited with status %d" % (" ".join(args), status))
    return status


def run(command, *positional, on_progress=None, **options):
    """Runs ``ddim COMMAND [POSITIONAL...] --option value...`` in this process and returns a
    RunResult for its ``out`` directory. on_progress(label, unit, done, total, status) follows its
    progress bars (a callback that raises stops the run as Ctrl-C would, and the error is
    raised)."""
    args = command.split() + [str(p) for p in positional] + _arguments(options)
    status = cli(args, on_progress)
    return RunResult(status, options.get("out"))


def train(data="fashion-mnist", out="runs/train", on_step=None, **options):
    """Trains a denoiser: ``ddim train`` (the same run directory, checkpoints, metrics.jsonl,
    previews and exact resume). on_step(step, total, status) is called as training proceeds.
    Options are ``ddim train``'s: steps, epochs, batch, lr, widths, arch, class_conditional,
    resume, config, ... Returns a RunResult (``.metrics``: the metrics.jsonl lines)."""
    return _train("train", data, out, on_step, options)


def train_embedder(out="runs/embedder", on_step=None, **options):
    """Trains an embedding network: ``ddim train-embedder`` (model=, data=, steps=, ...)."""
    return _train("train-embedder", None, out, on_step, options)


def train_latent(out="runs/latent", on_step=None, **options):
    """Trains a Diff-AE's latent DDIM over z_sem: ``ddim train-latent`` (model=, ...)."""
    return _train("train-latent", None, out, on_step, options)


def train_gae(out="runs/gae", on_step=None, **options):
    """Trains a DiffuseGAE on a Diff-AE's z_sem: ``ddim train-gae`` (model=, data=, ...)."""
    return _train("train-gae", None, out, on_step, options)


def train_classifier(out="runs/classifier", on_step=None, **options):
    """Trains the classifier ``ddim eval`` uses: ``ddim train-classifier`` (data=, ...)."""
    return _train("train-classifier", None, out, on_step, options)


def _train(command, data, out, on_step, options):
    resume = options.get("resume")
    if not resume:
        options = dict(options, out=out)
        if data is not None:
            options.setdefault("data", data)
    progress = None
    if on_step is not None:

        def progress(label, unit, done, total, status):
            if unit == "step":  # the training bar, not those of encoding or previews
                on_step(done, total, status)

    return RunResult(cli([command] + _arguments(options), progress), resume or out)


# Every other command as a function of this module: ``ddim.commands.analyze("independence",
# model=..., out=...)`` is ``ddim analyze independence --model ... --out ...``; each function's
# docstring is the command's --help.
COMMANDS = ["data", "schedule", "sample", "invert", "reconstruct", "interpolate", "synthesize", "cloud",
            "analyze", "eval", "encode", "decode", "manipulate", "swap", "edit", "info", "export", "bench"]


def _command(name):
    def call(*positional, on_progress=None, **options):
        return run(name, *positional, on_progress=on_progress, **options)

    call.__name__ = call.__qualname__ = name.replace("-", "_")
    call.__doc__ = ("``ddim %s`` in this process; returns a RunResult (its out directory's JSON files,\n"
                    "tensors and metrics). Keyword arguments are the options below.\n\n%s" % (name, _ddim.help([name])))
    return call


for _name in COMMANDS:
    globals()[_name.replace("-", "_")] = _command(_name)
