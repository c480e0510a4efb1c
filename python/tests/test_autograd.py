"""Autograd across the boundary: gradients through ddim's U-Net against finite differences, the
parameters shared with the C++ module, a Python fine-tuning loop that the CLI then loads."""

import torch

import ddim
from conftest import run_cli


def directional(f, x, v, h=1e-2):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def test_gradients_through_the_denoiser_match_finite_differences(tiny):
    m = ddim.load(tiny)
    torch.manual_seed(1)
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    var = torch.tensor([0.3, 0.7])
    w = torch.randn(2, 1, 32, 32)  # a fixed random functional of eps
    loss = lambda x_: (m.denoiser(x_, var) * w).sum()  # noqa: E731
    (g,) = torch.autograd.grad(loss(x), x)
    v = torch.randn_like(x)
    with torch.no_grad():
        fd = directional(loss, x, v)
    assert abs(float((g * v).sum()) - float(fd)) <= 1e-2 * abs(float(fd)) + 1e-3
    # And to a parameter of the C++ module.
    p = m.parameters()[0]
    assert not p.requires_grad  # loaded frozen, for sampling and embedding
    p = m.requires_grad_().parameters()[0]
    assert p.requires_grad
    (gp,) = torch.autograd.grad(loss(x), p)
    u = torch.randn_like(p)
    with torch.no_grad():
        base = p.clone()

        def at(q):
            p.copy_(q)
            return loss(x)

        fd = directional(at, base, u)
        p.copy_(base)
    assert abs(float((gp * u).sum()) - float(fd)) <= 1e-2 * abs(float(fd)) + 1e-3


def test_parameters_are_the_cpp_modules_own_storage(tiny):
    m = ddim.load(tiny)
    a = dict(m.named_parameters())
    b = dict(m.named_parameters())
    assert all(a[k].data_ptr() == b[k].data_ptr() for k in a)  # the same tensors each time, not copies
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        before = m.denoiser(x, 0.5)
        for p in m.parameters():
            p.mul_(0.5)  # an in-place change in Python is the C++ network's
        after = m.denoiser(x, 0.5)
    assert not torch.equal(before, after)


def test_tensors_pass_without_copies(tiny):
    test = ddim.data.load("fashion-mnist", split="test", limit=2)
    assert test.storage.data_ptr() == test.storage.data_ptr()  # ddim's own uint8 images
    m = ddim.load(tiny)
    x = torch.randn(1, 1, 32, 32)
    assert m.standardize(x).data_ptr() != x.data_ptr()  # a new result, as in PyTorch
    seeds = torch.randn(2, 1, 32, 32)
    assert torch.equal(m.sample(seeds=seeds, steps=2), m.sample(seeds=seeds.clone(), steps=2))


def test_a_python_fine_tuning_loop_lowers_the_loss_and_the_cli_loads_the_result(tiny, tmp_path, test_images):
    m = ddim.load(tiny)
    x0 = m.standardize(torch.nn.functional.pad(test_images, (2, 2, 2, 2)))
    g = torch.Generator().manual_seed(0)
    t = torch.rand(x0.shape[0], generator=g)
    s, n = m.rates(t)
    eps = torch.randn(x0.shape, generator=g)
    xt = s.view(-1, 1, 1, 1) * x0 + n.view(-1, 1, 1, 1) * eps

    def loss():
        return torch.nn.functional.mse_loss(m.denoiser(xt, n.square()), eps)

    with torch.no_grad():
        before = float(loss())
    opt = torch.optim.Adam(m.requires_grad_().parameters(), lr=1e-3)
    for _ in range(5):
        opt.zero_grad()
        loss().backward()
        opt.step()
    with torch.no_grad():
        after = float(loss())
    assert after < before
    path = tmp_path / "tuned.pt"
    m.save(path)
    assert "denoiser" in run_cli("info", path).stdout
    run_cli("sample", "--model", path, "--n", 2, "--steps", 2, "--out", tmp_path / "s")
    back = dict(ddim.load(path).named_parameters())
    assert all(torch.equal(back[k], v) for k, v in m.named_parameters())
