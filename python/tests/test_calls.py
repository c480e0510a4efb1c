"""Each call against the CLI command it mirrors, on the same inputs and seed: the same bits."""

import json
import os

import pytest
import torch

import ddim
from conftest import SOURCE, run_cli


def test_the_version_is_the_tools():
    assert run_cli("--version").stdout.split()[1] == ddim.__version__


def test_load_reads_the_kind_and_description(tiny):
    m = ddim.load(tiny)
    assert m.kind == "denoiser"
    assert m.description["kind"] == "denoiser"
    assert m.data["shape"] == [1, 32, 32]
    s, n = m.rates(torch.tensor([0.0, 1.0]))
    assert torch.allclose(s.square() + n.square(), torch.ones(2), atol=1e-6)


def test_sample_is_ddim_sample(tiny, tmp_path):
    m = ddim.load(tiny)
    for eta in (0.0, 0.5):
        ours = m.sample(n=4, seed=3, steps=3, eta=eta)
        run_cli("sample", "--model", tiny, "--n", 4, "--seed", 3, "--steps", 3, "--eta", eta, "--out", tmp_path / str(eta))
        theirs = ddim.load_tensor(tmp_path / str(eta) / "samples.pt")
        assert ours.shape == (4, 1, 28, 28)  # the padding cropped, as samples.pt
        assert torch.equal(ours, theirs), eta
    # Given seeds are sampled as given: the CLI's own seeds back.
    seeds = ddim.load_tensor(tmp_path / "0.0" / "seeds.pt")
    assert torch.equal(m.sample(seeds=seeds, steps=3), ddim.load_tensor(tmp_path / "0.0" / "samples.pt"))


def test_embed_and_invert_are_ddim_invert(tiny, tmp_path):
    m = ddim.load(tiny)
    test = ddim.data.load("fashion-mnist", split="test", limit=4, pad_to=0)
    for method, extra in (("ddim", []), ("fixed-point", ["--iters", 2])):
        out = tmp_path / method
        run_cli("invert", "--model", tiny, "--data", "fashion-mnist", "--limit", 4, "--steps", 4, "--method", method,
                *extra, "--out", out)
        theirs = ddim.load_tensor(out / "seeds.pt")
        e = m.embed(test.images, method=method, steps=4, iters=2)
        assert torch.equal(e["seeds"], theirs), method
        assert torch.equal(m.invert(test.images, steps=4, method=method, iters=2), theirs), method


def test_reconstruct_is_ddim_reconstruct(tiny, tmp_path, test_images):
    m = ddim.load(tiny)
    r = m.reconstruct(test_images, method="fixed-point", steps=3, iters=2, refine=2)
    run_cli("reconstruct", "--model", tiny, "--data", "fashion-mnist", "--limit", 4, "--method", "fixed-point",
            "--steps", 3, "--iters", 2, "--refine", 2, "--out", tmp_path)
    assert torch.equal(r["outputs"], ddim.load_tensor(tmp_path / "reconstructions.pt"))
    assert torch.equal(r["decoded"], ddim.load_tensor(tmp_path / "seeds.pt"))
    assert torch.equal(r["originals"], ddim.load_tensor(tmp_path / "originals.pt"))
    with open(tmp_path / "metrics.json") as f:
        cli = json.load(f)
    assert r["metrics"]["mean"] == cli["mean"]
    assert r["metrics"]["per_image"] == cli["per_image"]
    assert r["before_refinement"] == cli["before_refinement"]


def test_interpolate_is_ddim_interpolate(tiny, tmp_path, test_images):
    m = ddim.load(tiny)
    r = m.interpolate(test_images[:2], frames=5, steps=3)
    run_cli("interpolate", "--model", tiny, "--data", "fashion-mnist", "--from", 0, "--to", 1, "--frames", 5,
            "--steps", 3, "--out", tmp_path / "strip.png")
    assert torch.equal(r["frames"], ddim.load_tensor(tmp_path / "strip.pt"))
    with open(tmp_path / "strip.json") as f:
        assert r["ends"]["mean"] == json.load(f)["mean"]


def test_data_load_is_the_clis_data(tmp_path):
    test = ddim.data.load("fashion-mnist", split="test", limit=16)
    assert test.storage.dtype == torch.uint8 and test.storage.shape == (16, 1, 32, 32)  # padded to 32
    assert test.images.shape == (16, 1, 32, 32) and float(test.images.max()) <= 1.0
    assert test.labels.shape == (16,) and test.classes[0] == "T-shirt/top"
    assert test.split == "test" and len(test) == 16
    # The first test image of the IDX file, as ddim reads it for the CLI.
    assert torch.equal(test.storage[0, 0, 2:30, 2:30],
                       ddim.data.load("fashion-mnist", split="test", limit=1, pad_to=0).storage[0, 0])
    toy = ddim.data.load("toy:two-moons", toy_size=100)
    assert toy.images.shape == (100, 2)


def test_commands_run_in_process_like_the_cli(tiny, tmp_path):
    r = ddim.run("sample", model=tiny, n=2, steps=2, seed=5, out=tmp_path / "py", threads=1)
    run_cli("sample", "--model", tiny, "--n", 2, "--steps", 2, "--seed", 5, "--out", tmp_path / "cli")
    assert r.status == 0
    assert torch.equal(r.tensor("samples.pt"), ddim.load_tensor(tmp_path / "cli" / "samples.pt"))
    assert r.json["sample.json"]["n"] == 2
    assert (tmp_path / "py" / "config.toml").is_file()  # the run keeps its effective config


def test_training_in_process_is_ddim_train(tmp_path):
    steps = []
    args = dict(limit=32, steps=4, widths="8,16", block_depth=1, embedding_dims=8, batch=8, preview_samples=0,
                log_every=2, threads=1)
    r = ddim.train(data="fashion-mnist", out=str(tmp_path / "py"), on_step=lambda s, n, st: steps.append((s, n)),
                   **args)
    assert steps and steps[-1] == (4, 4)
    assert [m["step"] for m in r.metrics if "loss" in m][-1] == 4
    cli_args = []
    for k, v in args.items():
        if k != "threads":
            cli_args += ["--" + k.replace("_", "-"), v]
    run_cli("train", "--data", "fashion-mnist", "--out", tmp_path / "cli", *cli_args)
    ours = dict(ddim.load(tmp_path / "py" / "model.pt").named_parameters())
    theirs = dict(ddim.load(tmp_path / "cli" / "model.pt").named_parameters())
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_an_analysis_returns_the_clis_json(tiny, tmp_path):
    r = ddim.commands.analyze("inversion", model=tiny, n=3, steps="2,3", lambdas=3, out=tmp_path / "py", threads=1)
    run_cli("analyze", "inversion", "--model", tiny, "--n", 3, "--steps", "2,3", "--lambdas", 3, "--out",
            tmp_path / "cli")
    theirs = {}
    for name in os.listdir(tmp_path / "cli"):
        if name.endswith(".json"):
            with open(tmp_path / "cli" / name) as f:
                theirs[name] = json.load(f)
    assert r.json and r.json.keys() == theirs.keys()
    strip = lambda j: {k: v for k, v in j.items() if "second" not in k}  # noqa: E731 (wall times differ)
    assert all(strip(r.json[k]) == strip(theirs[k]) for k in theirs)
    assert "Usage: ddim analyze" in ddim.commands.analyze.__doc__ or "Subcommands" in ddim.commands.analyze.__doc__


def test_diffae_encode_and_decode_are_the_clis(tmp_path):
    model = os.path.join(SOURCE, "models", "fonts-diffae.pt")
    m = ddim.load(model)
    assert m.kind == "diffae"
    run_cli("encode", "--model", model, "--data", "fonts", "--limit", 3, "--out", tmp_path)
    images = ddim.data.load("fonts", split="test", limit=3, resize=m.data["shape"][-1], pad_to=0,
                            label=m.data.get("class_attribute") or None).images
    zsem = ddim.load_tensor(tmp_path / "zsem.pt")
    assert torch.equal(m.encode(images), zsem)
    # decode: the CLI's x_T, and random ones from the seed.
    run_cli("decode", "--model", model, "--zsem", tmp_path / "zsem.pt", "--xT", tmp_path / "xT.pt", "--steps", 3,
            "--out", tmp_path / "given")
    xt = ddim.load_tensor(tmp_path / "xT.pt")
    assert torch.equal(m.decode(zsem, seeds=xt, steps=3), ddim.load_tensor(tmp_path / "given" / "images.pt"))
    run_cli("decode", "--model", model, "--zsem", tmp_path / "zsem.pt", "--seed", 4, "--steps", 3, "--out",
            tmp_path / "random")
    assert torch.equal(m.decode(zsem, seed=4, steps=3), ddim.load_tensor(tmp_path / "random" / "images.pt"))


def test_counterfactuals_of_a_fonts_set():
    fonts = ddim.data.load("fonts", split="test", limit=3)
    assert fonts.has_counterfactuals
    size = fonts.attributes["size"]
    own = [size["values"][int(k)] for k in size["labels"][:2]]
    assert torch.equal(fonts.counterfactuals([0, 1], "size", own), fonts.storage[:2])  # its own value: itself
    other = [v for v in size["values"] if v != own[0]][0]
    changed = fonts.counterfactuals([0], "size", [other])
    assert changed.shape == (1, *fonts.storage.shape[1:]) and not torch.equal(changed[0], fonts.storage[0])
    with pytest.raises(ddim.UsageError, match="wings"):
        fonts.counterfactuals([0], "wings", ["yes"])
    assert not ddim.data.load("fashion-mnist", split="test", limit=1).has_counterfactuals
