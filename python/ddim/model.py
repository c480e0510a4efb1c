"""Models: ddim.load and the calls a loaded model makes (methods/model.h and the methods/ layer)."""

from . import _ddim

# The defaults of the CLI's options (tools/ddim/common/sampling_args.h, embed_args.cpp).
_STEPS = 10
_BATCH = 256


class Model:
    """A model file as ddim loads it: ``kind`` is one of denoiser, class-conditional, diffae
    (Diff-AE), gae (DiffuseGAE), embedder, classifier.

    Images go in as float tensors [N, C, H, W] in [0, 1] of any size and channel count; they are
    fitted to the model as the CLI fits ``--images`` (gray <-> RGB, centre crop and resize, zero
    padding like the training data). Images come out in [0, 1] with the padding cropped.
    """

    def __init__(self, core):
        self._core = core

    # ------------------------------------------------------------------ what it is
    @property
    def kind(self):
        """denoiser, class-conditional, diffae, gae, embedder or classifier."""
        return self._core.kind

    @property
    def path(self):
        return self._core.path

    @property
    def description(self):
        """The checkpoint's metadata as a dict (network, schedule, data, training options)."""
        return self._core.description

    @property
    def data(self):
        """The data the model was trained on (spec, shape, padding, classes), or None."""
        return self._core.data

    @property
    def schedule(self):
        """The noise schedule's options as a dict, or None for embedders and classifiers."""
        return self._core.schedule

    def rates(self, t):
        """The schedule's (signal rate s(t), noise rate n(t)) at times t (a tensor in [0, 1])."""
        return self._core.rates(t)

    def time_grid(self, steps=_STEPS, end="x0"):
        """The DDIM grid of S = steps equal steps from t = 1 down to 0, as the sampler walks it:
        (times, signal rates, noise rates), float64 [S + 1] each. end="x0" (the paper) makes the
        last point (1, 0): the prediction x0-hat."""
        return self._core.time_grid(steps, end)

    # ------------------------------------------------------------------ the network
    def parameters(self):
        """The network's parameters: the very tensors of the C++ module (same storage), so a
        torch.optim optimizer over them trains ddim's network (after ``requires_grad_()``)."""
        return self._core.parameters()

    def named_parameters(self):
        return self._core.named_parameters()

    def named_buffers(self):
        return self._core.named_buffers()

    def requires_grad_(self, requires_grad=True):
        """Makes the parameters require gradients (or not), as torch.nn.Module.requires_grad_;
        returns self. A model loads frozen, for sampling and embedding: call this to fine-tune
        it or to differentiate with respect to its weights."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def train(self, mode=True):
        """Training mode (batch norm uses batch statistics, as when ddim trains); returns self."""
        self._core.train_mode(bool(mode))
        return self

    def eval(self):
        """Evaluation mode (the default after loading); returns self."""
        self._core.train_mode(False)
        return self

    @property
    def training(self):
        return self._core.is_training

    def denoiser(self, x, noise_var, cond=None):
        """eps(x_t, n^2): the network's noise estimate, with its autograd graph.

        x: standardised noisy inputs [B, *shape] (``model.standardize`` maps images in [0, 1]);
        noise_var: n(t)^2, a scalar or [B]; cond: [B, d] for conditional networks (Diff-AE's
        z_sem, one-hot classes with a null class). Gradients flow to x, to cond and, after
        ``requires_grad_()``, to ``model.parameters()``; wrap the call in torch.no_grad() when
        none are wanted."""
        if not hasattr(noise_var, "dim"):
            import torch

            noise_var = torch.tensor(float(noise_var))
        return self._core.denoiser(x, noise_var, cond)

    def standardize(self, images):
        """Images in [0, 1] -> the network's standardised units."""
        return self._core.standardize(images)

    def to_data(self, x):
        """Standardised units -> data units (images clipped to [0, 1])."""
        return self._core.to_data(x)

    def save(self, path, release=True):
        """Writes the current weights as a ddim checkpoint the CLI loads (atomically: a file is
        whole or absent). release=True: a release file (EMA weights only); False: the training
        checkpoint's layout with both states set to these weights."""
        self._core.save(str(path), bool(release))

    # ------------------------------------------------------------------ methods
    def sample(self, n=64, seeds=None, seed=0, steps=_STEPS, eta=0.0, clip=False, end="x0", batch=_BATCH,
               cls=None, guidance=1.0, codes=None):
        """Generates images (or points) by DDIM: ``ddim sample``, the same bits for the same seed.

        n seeds drawn from ``seed`` (or ``seeds``, [N, *shape]); steps: S; eta: stochastic DDIM
        (0 deterministic); clip: clip x0-hat at every step; end: "x0" (the paper) or "t0";
        cls/guidance: a class-conditional model's class (index or name) and classifier-free
        guidance w; codes: a Diff-AE's semantic codes [N, d]. Returns [N, C, H, W] in [0, 1]."""
        return self._core.sample(n, seeds, seed, steps, eta, clip, end, batch, cls, guidance, codes)

    def invert(self, images, steps=_STEPS, method="ddim", end="x0", label="target", iters=3, average=False,
               batch=_BATCH, cls=None, guidance=1.0):
        """Images -> seeds by DDIM inversion (method "ddim") or fixed-point inversion
        ("fixed-point", K = iters refinements per step, ``average``: ReNoise). Returns seeds
        [N, *shape]. For every embedding method (gradient descent, embedders, refinement) see
        ``embed``."""
        return self._core.invert(images, steps, end, method, label, iters, average, batch, cls, guidance)

    def embed(self, images, method="ddim", steps=_STEPS, end="x0", label="target", iters=3, average=False,
              descent_iters=1500, refine=0, lr=1e-2, batch=_BATCH, seed=0, embedder=None):
        """Images -> seeds by any embedding method: ``ddim invert``. method: ddim, fixed-point,
        gradient-descent (the seed paper's Sec. 5.1) or embedder (``embedder``: a loaded
        embedder model); refine: gradient-descent iterations after it (Fig. 18).

        Returns {"seeds", "codes" (Diff-AE), "unrefined" (with refine), "seconds"}."""
        return self._core.embed(images, method, steps, end, label, iters, average, descent_iters, refine, lr,
                                batch, seed, _core_of(embedder))

    def reconstruct(self, images, method="ddim", steps=_STEPS, end="x0", label="target", iters=3,
                    average=False, descent_iters=1500, refine=0, lr=1e-2, batch=_BATCH, seed=0, embedder=None,
                    random_xt=False):
        """Images -> seeds -> images: ``ddim reconstruct`` (the paper's Fig. 3).

        Returns {"seeds", "decoded", "outputs", "originals", "metrics" (the CLI's metrics.json:
        mean and per-image MSE, PSNR, SSIM), "before_refinement" (with refine), ...}."""
        return self._core.reconstruct(images, method, steps, end, label, iters, average, descent_iters, refine,
                                      lr, batch, seed, _core_of(embedder), random_xt)

    def interpolate(self, ends, frames=9, mode="lerp", method="ddim", steps=_STEPS, end="x0", label="target",
                    iters=3, average=False, descent_iters=1500, refine=0, lr=1e-2, batch=_BATCH, seed=0,
                    embedder=None):
        """Two images [2, C, H, W] embedded, their seeds interpolated (mode: lerp or slerp),
        the path generated: ``ddim interpolate`` (Fig. 19). Returns {"seeds", "frames", "blend",
        "ends", "frame_to_frame_mse", "codes" (Diff-AE)}."""
        return self._core.interpolate(ends, frames, mode, method, steps, end, label, iters, average, descent_iters,
                                      refine, lr, batch, seed, _core_of(embedder))

    def encode(self, images, batch=_BATCH):
        """Diff-AE: the semantic codes z_sem [N, d] of images in [0, 1]."""
        return self._core.encode(images, batch)

    def decode(self, codes, seeds=None, seed=0, steps=_STEPS, end="x0", batch=_BATCH):
        """Diff-AE: semantic codes z_sem [N, d] (and x_T ``seeds``, or random ones from ``seed``)
        -> images in [0, 1]: ``ddim decode``, the same bits."""
        return self.sample(n=codes.shape[0], seeds=seeds, seed=seed, steps=steps, end=end, batch=batch, codes=codes)

    def condition(self, x0):
        """The network's condition of clean standardised images (Diff-AE: z_sem), with autograd."""
        return self._core.condition(x0)

    def __call__(self, images):
        """An embedder: images [N, C, H, W] in the denoiser's shape -> seeds, with autograd."""
        return self._core.embedder_forward(images)

    def __repr__(self):
        return repr(self._core)


def _core_of(model):
    if model is None:
        return None
    if isinstance(model, Model):
        return model._core
    raise _ddim.UsageError("embedder: expected a model from ddim.load, got %s" % type(model).__name__)


def load(path, weights="ema", bf16=False, device="cpu"):
    """Loads any ddim model file: a denoiser, class-conditional denoiser, Diff-AE, DiffuseGAE,
    embedder or classifier, from a release or a training checkpoint (``--model`` of the CLI).

    weights: "ema" (the paper samples with the average) or "raw" (a training checkpoint's own);
    bf16: evaluate in bf16 autocast; device: "cpu", "cuda", "cuda:N".
    Raises ddim.FileError naming the file when it is missing, truncated or corrupt."""
    return Model(_ddim.load(str(path), weights, bool(bf16), device))
