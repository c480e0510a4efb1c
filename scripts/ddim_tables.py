#!/usr/bin/env python3
"""The markdown tables of scripts/*.sh, from the JSON and CSV files that ddim's commands write.

One subcommand per table a script writes; each reads a run directory and prints markdown on
stdout (the script saves it as summary.md, tables.md, table.md or table1.md). The standard
library only. The tables in docs/results/ were written by the same code, so a change here is a
change there: tests/scripts/test_ddim_tables.py compares every subcommand's output on fixture
runs (tests/scripts/fixtures/) with the expected markdown, byte for byte.

    python3 scripts/ddim_tables.py SUBCOMMAND --help
"""
import argparse
import csv
import json
import os
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def metrics(directory):
    """A `ddim reconstruct` run's metrics.json."""
    return load(os.path.join(directory, "metrics.json"))


# --- scripts/main-job.sh ---------------------------------------------------------------------

def main_job(a):
    out = a.dir
    mean = lambda path: metrics(f"{out}/{path}")["mean"]
    lines = ["# ddim main job", ""]
    lines.append(f"Fashion-MNIST, trained with configs/quick.toml; total time {a.seconds // 60} min {a.seconds % 60} s.")
    lines.append("")
    lines.append("| picture | file |")
    lines.append("|---|---|")
    faces = a.faces_model
    pictures = [("training data", "data-grid.png"), ("schedules (Fig. 6)", "schedules/alpha.png"),
                ("noising (Fig. 7)", "schedules/noising.png"), ("samples", "samples/samples.png"),
                ("sampling trajectories", "samples/trajectory.png"),
                ("reconstruction, DDIM inversion (Fig. 3)", "reconstruct-ddim/reconstruction.png"),
                ("reconstruction, fixed-point inversion", "reconstruct-fixed-point/reconstruction.png"),
                ("interpolation (Fig. 19)", "interpolation.png"), ("faces", "faces-grid.png"),
                ("faces with and without glasses (counterfactuals)", "faces-glasses.png"),
                (f"faces samples ({faces})", "faces-samples/samples.png"),
                ("faces reconstruction, fixed-point inversion", "faces-reconstruct/reconstruction.png")]
    if a.faces_embedder:
        pictures.append((f"faces reconstruction, U-Net embedder ({a.faces_embedder})",
                         "faces-reconstruct-embedder/reconstruction.png"))
    pictures.append(("faces interpolation (Fig. 19)", "faces-interpolation.png"))
    for what, f in pictures:
        lines.append(f"| {what} | {f} |")
    lines += ["", f"Reconstruction of test images ({a.images} Fashion-MNIST at S = {a.steps}; pixels in [0, 1], padding cropped):",
              "", "| method | MSE | PSNR (dB) | SSIM |", "|---|---|---|---|"]
    rows = [("DDIM inversion", "reconstruct-ddim"), ("fixed-point inversion (K = 3)", "reconstruct-fixed-point"),
            (f"faces 64x64 ({faces}), fixed-point inversion (K = 3, S = {a.faces_steps}, {a.faces} images)",
             "faces-reconstruct")]
    if a.faces_embedder:
        rows.append((f"faces 64x64, U-Net embedder ({a.faces_embedder}, S = 10, {a.faces} images)",
                     "faces-reconstruct-embedder"))
    for name, path in rows:
        m = mean(path)
        lines.append(f"| {name} | {m['mse']:.5f} | {m['psnr']:.2f} | {m['ssim']:.4f} |")
    lines += ["", f"Sample quality ({a.samples} samples, S = {a.steps}): the Fréchet distance on the shipped classifier's features "
              "(models/fashion-mnist-classifier.pt; not Inception FID):", "", "| images | FD |", "|---|---|"]
    for name, path in [("this run's quick model", "fd-quick"), ("the shipped reference model (models/fashion-mnist.pt)",
                       "fd-shipped"), (f"floor: {a.samples} training images", "fd-floor")]:
        fd = load(f"{out}/{path}/eval.json")["frechet_distance"]
        lines.append(f"| {name} | {fd:.2f} |")
    return lines


# --- scripts/reproduce.sh ----------------------------------------------------------------------

def fashion_mnist(a):
    o = a.dir
    fd = {k: load(f"{o}/fd-{k}/eval.json") for k in ("samples-s10", "samples-s50", "floor")}
    rec = {k: metrics(f"{o}/reconstruct-{k}")["mean"] for k in ("ddim", "fixed-point")}
    lines = [f"# fashion-mnist (models/fashion-mnist.pt): reproduced in {a.seconds} s", "",
             "| Fréchet distance on the shipped classifier's features | value |", "|---|---|",
             f"| samples, S = 10 | {fd['samples-s10']['frechet_distance']:.3f} |",
             f"| samples, S = 50 | {fd['samples-s50']['frechet_distance']:.3f} |",
             f"| floor: training images against the test split | {fd['floor']['frechet_distance']:.3f} |", "",
             "| reconstruction of test images (S = 10) | MSE | PSNR | SSIM |", "|---|---|---|---|"]
    for k, r in rec.items():
        lines.append(f"| {k} inversion | {r['mse']:.5f} | {r['psnr']:.2f} | {r['ssim']:.4f} |")
    lines += ["", "Inversion statistics (There and back again):", "", read_text(f"{o}/inversion/inversion.md")]
    return lines


def embedding(a):
    o, nb, nr = a.dir, a.images, a.refined
    m = lambda name: metrics(f"{o}/{name}")
    lines = ["# Embedding Fashion-MNIST test images without an embedder (models/fashion-mnist.pt)", "",
             "MSE over the original 28x28 pixels in [0, 1]; the paper's best (U-Net embedder, S = 10): 0.000890.", "",
             "| method | S | images | MSE | PSNR | SSIM | seconds / image |", "|---|---|---|---|---|---|---|"]
    for s in (10, 20, 50, 100):
        r = m(f"fixed-point-s{s}")
        lines.append(f"| fixed-point inversion, K = 3 | {s} | {nb} | {r['mean']['mse']:.6f} | {r['mean']['psnr']:.2f} | "
                     f"{r['mean']['ssim']:.4f} | {r['seconds_per_image_embed']:.4f} |")
    b = m("refined-100")
    lines.append(f"| fixed-point inversion, K = 3 (the {nr} images below) | 10 | {nr} | {b['before_refinement']['mse']:.6f} | "
                 f"{b['before_refinement']['psnr']:.2f} | {b['before_refinement']['ssim']:.4f} | {b['seconds_per_image_embed']:.4f} |")
    r = b
    lines.append(f"| + 100 gradient steps (Adam 1e-2, Fig. 18) | 10 | {nr} | {r['mean']['mse']:.6f} | {r['mean']['psnr']:.2f} | "
                 f"{r['mean']['ssim']:.4f} | {r['seconds_per_image_embed'] + r['seconds_per_image_refine']:.4f} |")
    return lines


def independence(a):
    j = load(f"{a.dir}/independence.json")
    lines = ["# Model independence (seed paper Fig. 10)", "", "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in j.items()
              if not isinstance(v, (list, dict))]
    return lines


def faces(a):
    o, nf, nr = a.dir, a.images, a.refined
    m = lambda name: metrics(f"{o}/{name}")
    lines = [f"# faces (models/faces.pt): reproduced in {a.seconds} s", "",
             f"Reconstruction MSE over [0, 1] pixels, S = 10; {nf} test faces, {nf} generated faces (seed 7).", "",
             "| embedding | data-set faces | generated faces | SSIM data-set | SSIM generated | seconds / image (data-set) |",
             "|---|---|---|---|---|---|"]
    for k, label in [("embedder", "U-Net embedder (faces-embedder.pt)"), ("ddim", "DDIM inversion"),
                     ("fixed-point", "fixed-point inversion, K = 3")]:
        d, g = m(f"dataset-{k}"), m(f"generated-{k}")
        lines.append(f"| {label} | {d['mean']['mse']:.5f} | {g['mean']['mse']:.5f} | {d['mean']['ssim']:.4f} | "
                     f"{g['mean']['ssim']:.4f} | {d['seconds_per_image_embed']:.3f} |")
    lines += ["", f"| {nr} data-set faces | MSE | SSIM | seconds / image |", "|---|---|---|---|"]
    for k, label in [("dataset-embedder-refined", "U-Net embedder"), ("dataset-refined", "fixed-point inversion")]:
        r = m(k)
        lines += [f"| {label} | {r['before_refinement']['mse']:.5f} | {r['before_refinement']['ssim']:.4f} | "
                  f"{r['seconds_per_image_embed']:.3f} |",
                  f"| + 50 gradient steps | {r['mean']['mse']:.5f} | {r['mean']['ssim']:.4f} | "
                  f"{r['seconds_per_image_embed'] + r['seconds_per_image_refine']:.3f} |"]
    lines += ["", "The seed paper (CelebA 64x64, U-Net embedder): data-set 0.00147, generated 0.00074, refined 0.00058."]
    return lines


def diffae_faces(a):
    o, nd, nm = a.dir, a.images, a.manipulated
    m = lambda name: metrics(f"{o}/{name}")["mean"]
    ts = [10, 20, 50, 100]
    lines = [f"# Diff-AE on faces (models/faces-diffae.pt against models/faces.pt): reproduced in {a.seconds} s", "",
             f"Reconstruction of {nd} test faces, pixels in [0, 1].", "",
             "| model | " + " | ".join(f"SSIM T={t}" for t in ts) + " | " + " | ".join(f"MSE T={t}" for t in ts) + " |",
             "|---|" + "---|" * (2 * len(ts))]
    for k, label in [("ddim", "DDIM (inversion), models/faces.pt"), ("diffae", "Diff-AE, inferred x_T"),
                     ("diffae-random", "Diff-AE, random x_T")]:
        lines.append(f"| {label} | " + " | ".join(f"{m(f'{k}-T{t}')['ssim']:.4f}" for t in ts) + " | "
                     + " | ".join(f"{m(f'{k}-T{t}')['mse']:.5f}" for t in ts) + " |")
    x, y = m("diffae-T20")["ssim"], m("ddim-T100")["ssim"]
    lines += ["", f"Diff-AE at T = 20 (SSIM {x:.4f}) {'beats' if x > y else 'does not beat'} DDIM at T = 100 ({y:.4f}); "
                  "the paper (FFHQ 128): 0.927 against 0.917.", "",
              f"Manipulation of {nm} test faces without the attribute: the linear classifier's P(attribute) of the "
              "re-encoded result, and its MSE to the same face rendered with the attribute (scale 0: the reconstruction).", ""]
    for k in ("eyeglasses", "male", "blond"):
        j = load(f"{o}/manipulate-{k}/manipulate.json")
        c = j["classifier"]
        auroc = "-" if c["auroc"] is None else f"{c['auroc']:.3f}"  # null: the test codes hold one class only
        lines += [f"| {j['class_attribute']} = {j['attribute_name']} (AUROC {auroc}) | "
                  + " | ".join(f"{s['scale']:+g}" for s in j["scales"]) + " |",
                  "|---|" + "---|" * len(j["scales"]),
                  "| P(attribute) | " + " | ".join(f"{s['probability']:.3f}" for s in j["scales"]) + " |",
                  "| MSE to the truth | " + " | ".join(f"{s['truth_mse']:.5f}" for s in j["scales"]) + " |", ""]
    return lines


# --- scripts/diffae-tables.sh ------------------------------------------------------------------

def diffae_tables(a):
    out = a.dir
    m = lambda name, t: metrics(f"{out}/{name}-T{t}")["mean"]
    ts = [10, 20, 50, 100]
    lines = [f"# Diff-AE reconstruction on Fashion-MNIST ({a.images} test images, pixels in [0, 1], padding cropped)", "",
             "| model | " + " | ".join(f"MSE T={t}" for t in ts) + " | " + " | ".join(f"SSIM T={t}" for t in ts) + " |",
             "|---|" + "---|" * (2 * len(ts))]
    for name, label in [("ddim", "DDIM (inversion)"), ("diffae", "Diff-AE, inferred x_T"),
                        ("diffae-random", "Diff-AE, random x_T")]:
        lines.append(f"| {label} | " + " | ".join(f"{m(name, t)['mse']:.5f}" for t in ts) + " | "
                     + " | ".join(f"{m(name, t)['ssim']:.4f}" for t in ts) + " |")
    claim = m("diffae", 20)["mse"] < m("ddim", 100)["mse"]
    lines += ["", f"Diff-AE at T = 20 ({m('diffae', 20)['mse']:.5f}) {'beats' if claim else 'does not beat'} "
                  f"DDIM at T = 100 ({m('ddim', 100)['mse']:.5f}) in MSE."]
    return lines


# --- scripts/diffusegae-tables.sh --------------------------------------------------------------

def diffusegae(a):
    out, secs, title, feature_cls = a.dir, a.seconds, a.title, a.feature_classifier
    reduced = a.size in ("quick", "tiny")
    flag = ("" if a.set == "fonts" else " --faces") + {"full": "", "quick": " --quick", "cpu": " --cpu",
                                                       "tiny": " --tiny"}[a.size]
    models = [(m, label) for m, label in [("diffae", "Diff-AE (z_sem in the GAE's part sizes)"),
                                          ("gae", "DiffuseGAE, post hoc (eq. 11)"),
                                          ("gae-ft", "DiffuseGAE, fine-tuned (eq. 12)")]
              if os.path.exists(f"{out}/dis-{m}/disentanglement.json")]
    lines = [f"# DiffuseGAE on {title}" + (f" (REDUCED --{a.size} run)" if reduced else ""), "",
             f"Everything below was measured by scripts/diffusegae-tables.sh{flag} in {secs // 60} min.", ""]
    lines += ["## Table 1: linear probes (test accuracy; rows attributes, columns parts; bold: own part)", ""]
    for m, label in models:
        d = load(f"{out}/dis-{m}/disentanglement.json")
        parts = d["parts"]
        lines += [f"### {label}: own part {d['diagonal_accuracy']:.3f}, other attribute parts {d['off_diagonal_accuracy']:.3f}", "",
                  "| attribute | " + " | ".join(parts) + " | whole code | chance |", "|---|" + "---|" * (len(parts) + 2)]
        for attribute, r in d["attributes"].items():
            cells = [(f"**{r['accuracy'][p]:.3f}**" if p == attribute else f"{r['accuracy'][p]:.3f}") for p in parts]
            lines.append(f"| {attribute} ({r['values']}) | " + " | ".join(cells)
                         + f" | {r['whole_code_accuracy']:.3f} | {r['chance']:.3f} |")
        lines.append("")
        lines += ["Perplexity (1: perfect; the number of values: chance):", "",
                  "| attribute | " + " | ".join(parts) + " |", "|---|" + "---|" * len(parts)]
        for attribute, r in d["attributes"].items():
            lines.append(f"| {attribute} ({r['values']}) | " + " | ".join(f"{r['perplexity'][p]:.2f}" for p in parts) + " |")
        lines.append("")
    lines += ["## Table 2, the paper's protocol: decoded from the code reassembled from the group's parts", "",
              "Each test image decoded from the code whose part of each attribute comes from another test image "
              "with the same value of that attribute (S = 20); the plain reconstruction from the image's own code "
              "is the reference row.", "",
              "| model | x_T | decoded from | MSE | SSIM | feature dist. |", "|---|---|---|---|---|---|"]
    for m, label in models:
        for x in ["inferred", "random"]:
            g = load(f"{out}/reasm-{m}-{x}/reassembly.json")
            for key, what in [("reassembled", "group's parts"), ("reconstruction", "own code (reference)")]:
                v = g[key]
                lines.append(f"| {label} | {x} | {what} | {v['mse']:.5f} | {v['ssim']:.4f} | {v['feature_distance']:.4f} |")
    lines.append("")
    lines += ["## Table 2 (reference): plain reconstruction (test images, pixels in [0, 1])", "",
              f"Feature distance: squared distance of the unit-normalised features of the {feature_cls} classifier (LPIPS-like).", "",
              "| model | x_T | MSE T=10 | T=20 | T=50 | SSIM T=10 | T=20 | T=50 | feature dist. T=10 | T=20 | T=50 |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for m, label in models:
        for x in ["inferred", "random"]:
            r = [metrics(f"{out}/rec-{m}-{x}-T{t}")["mean"] for t in (10, 20, 50)]
            f = [load(f"{out}/rec-{m}-{x}-T{t}/eval/eval.json")["feature_distance"] for t in (10, 20, 50)]
            lines.append(f"| {label} | {x} | " + " | ".join(f"{v['mse']:.5f}" for v in r) + " | "
                         + " | ".join(f"{v['ssim']:.4f}" for v in r) + " | " + " | ".join(f"{v:.4f}" for v in f) + " |")
    lines += ["", "## Attribute-swap success rate", "",
              "A swap succeeds when the classifier of the swapped attribute sees the donor's value and every other "
              "classifier the source's (over pairs whose values of the swapped attribute differ).", ""]
    for m, label in models:
        for x in ["inferred", "random"]:
            s = load(f"{out}/success-{m}-{x}/swap.json")
            lines += [f"### {label}, x_T {x} ({s['pairs']} pairs, S = {s['steps']})", ""]
            lines += [read_text(f"{out}/success-{m}-{x}/swap.md").split("\n\n", 1)[1].strip(), ""]
    lines += ["## Swap grids", ""]
    for m, label in models:
        for x in ["inferred", "random"]:
            lines.append(f"- {label}, x_T {x}: " + ", ".join(
                f"{out}/grids-{m}-{x}/{p}" for p in load(f"{out}/grids-{m}-{x}/swap.json")["pictures"]))
    if os.path.exists(f"{out}/times.txt"):
        times = [line.split() for line in read_text(f"{out}/times.txt").splitlines()]
        lines += ["", "## Wall times (s)", "", "| step | seconds |", "|---|---|"] + [f"| {n} | {s} |" for n, s in times]
    return lines


# --- scripts/direct-inversion-study.sh ---------------------------------------------------------

def direct_inversion(a):
    with open(f"{a.dir}/tradeoff/summary.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    n, w, seeds = a.images, a.guidance, a.seeds
    num = lambda v: float(v) if v else None
    for r in rows:
        for k in list(r):
            if k not in ("method", "inversion_condition", "merge_with", "inversion"):
                r[k] = num(r[k])

    def family(r):
        if r["method"] == "direct-inversion":
            return f"direct-inversion ({r['inversion_condition']} inversion, merge with {r['merge_with']})"
        if r["method"] == "inversion":
            return f"inversion + guidance ({r['inversion_condition']} inversion)"
        return f"SDEdit (eta = {r['eta']:g}, {seeds} seeds)"

    def setting(r):
        if r["method"] == "direct-inversion":
            return f"λ = {r['merge']:g}"
        if r["method"] == "sdedit":
            return f"t0 = {r['strength']:g}"
        return "-"

    families = []
    for r in rows:
        if family(r) not in families:
            families.append(family(r))
    ci = lambda r, k, f: (f + " ± " + f).format(r[k], r[k + "_ci95"])
    # The fixed levels: the median fidelity and median success over every setting of every method,
    # so that both lie inside the range the methods span. Fidelity: SSIM (higher is faithful) and
    # the classifier-feature distance (our LPIPS stand-in; lower is faithful).
    median = lambda v: sorted(v)[len(v) // 2]
    suc = median([r["success_rate"] for r in rows])
    targets = a.targets.split(",")
    lines = [f"# Direct Inversion study: {n} test images x {len(targets)} targets ({', '.join(targets)}), w = {w}", "",
             "Pairs whose source class already is the target are left out; ± is the 95% confidence",
             f"interval of the mean over the pairs (SDEdit: each pair's score averaged over {seeds} seeds)."]
    best = {}
    for metric, higher, fmt in (("ssim", True, "{:.3f}"), ("feature_distance", False, "{:.3f}")):
        level = median([r[metric] for r in rows])
        ok = (lambda r: r[metric] >= level) if higher else (lambda r: r[metric] <= level)
        sign = ">=" if higher else "<="
        lines += ["", f"| method | best success with {metric} {sign} {level:.3f} | setting | "
                      f"best {metric} with success >= {suc:.2f} | setting |", "|---|---|---|---|---|"]
        for f in families:
            of = [r for r in rows if family(r) == f]
            sa = [r for r in of if ok(r)]
            sb = [r for r in of if r["success_rate"] >= suc]
            ra = max(sa, key=lambda r: (r["success_rate"], r[metric] if higher else -r[metric])) if sa else None
            rb = max(sb, key=lambda r: (r[metric] if higher else -r[metric], r["success_rate"])) if sb else None
            cells = ((ci(ra, "success_rate", "{:.2f}"), setting(ra)) if ra else ("unreachable", "-")) + \
                    ((ci(rb, metric, fmt), setting(rb)) if rb else ("unreachable", "-"))
            lines.append("| {} | {} | {} | {} | {} |".format(f, *cells))
            if metric == "ssim" and ra and f.startswith("direct-inversion (null inversion, merge with eps"):
                best["merge"] = ra["merge"]
    # Rendered data (faces, fonts): the distance of each edit to the true counterfactual, the same
    # example drawn with the target class: at each method's closest setting among those that edit
    # (success >= 0.9), and at its closest setting of all (which may be one that barely edits).
    if rows and rows[0].get("truth_mse") is not None:
        lines += ["", "Distance to the true edit (the example rendered again with the target class; pixels in [0, 1]):", "",
                  "| method | lowest truth MSE with success >= 0.90 | setting | its success | its truth SSIM | "
                  "its truth feature distance | lowest truth MSE of all settings | setting (its success) |",
                  "|---|---|---|---|---|---|---|---|"]
        for f in families:
            of = [r for r in rows if family(r) == f]
            low = min(of, key=lambda r: r["truth_mse"])
            edits = [r for r in of if r["success_rate"] >= 0.9]
            r = min(edits, key=lambda r: r["truth_mse"]) if edits else None
            cells = (f"{ci(r, 'truth_mse', '{:.4f}')} | {setting(r)} | {ci(r, 'success_rate', '{:.2f}')} | "
                     f"{ci(r, 'truth_ssim', '{:.3f}')} | {ci(r, 'truth_feature_distance', '{:.3f}')}") if r else \
                    "unreachable | - | - | - | -"
            lines.append(f"| {f} | {cells} | {ci(low, 'truth_mse', '{:.4f}')} | {setting(low)} "
                         f"({low['success_rate']:.2f}) |")
    if a.best_merge:
        with open(a.best_merge, "w", encoding="utf-8") as f:
            f.write(f"{best.get('merge', 0.5):g}\n")
    return lines


# --- scripts/reproduce-table1.sh ---------------------------------------------------------------

def table1(a):
    out, data, quick = a.dir, a.data, a.quick
    secs, n_eval, n_refine, refine = a.seconds, a.images, a.refined, a.refine
    mnist = data.startswith("mnist")
    # The paper's Table 1: parameter counts (of its CelebA instances) and MSE.
    paper = {"conv1": (78, .00704, .0152), "conv3-16": (7233, .00271, .00523), "conv3-64": (105729, .00206, .00454),
             "conv5-128": (859009, .00121, .00172), "unet": (9577683, .000361, .000890)}
    names = {"conv1": "1 conv 5x5", "conv3-16": "3 conv 5x5, 16-16-out", "conv3-64": "3 conv 5x5, 64-64-out",
             "conv5-128": "2 conv 5x5 + 3 conv 3x3, 128", "unet": "U-Net"}
    m_of = lambda name: metrics(f"{out}/eval-{name}")
    # `ddim info MODEL --json`, saved by the script beside each embedder.
    parameters = lambda arch: load(f"{out}/embedder-{arch}/info.json")["meta"]["parameters"]
    col = "MNIST" if mnist else "Fashion-MNIST"
    lines = [f"# Table 1 on {col}" + (" (REDUCED --quick run: short training, a test subset)" if quick else ""), ""]
    lines.append(f"Test MSE over the original 28x28 pixels of {n_eval} test images (pixels in [0, 1]), S = 10 DDIM steps; "
                 f"run time {secs // 60} min. Parameter counts: ours for this data; the paper's are of its CelebA instances.")
    lines.append("")
    lines.append(f"| method | parameters (ours) | parameters (paper) | MSE (ours) | MSE (paper, {col}) | PSNR | SSIM | seconds / image |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for arch in ["conv1", "conv3-16", "conv3-64", "conv5-128", "unet"]:
        m = m_of(arch)
        p = paper[arch]
        lines.append(f"| embedder: {names[arch]} | {parameters(arch):,} | {p[0]:,} | {m['mean']['mse']:.5f} | "
                     f"{p[1] if mnist else p[2]} | {m['mean']['psnr']:.2f} | {m['mean']['ssim']:.4f} | {m['seconds_per_image_embed']:.4f} |")
    for name, label in [("ddim", "DDIM inversion"), ("fixed-point", "fixed-point inversion, K = 3")]:
        m = m_of(name)
        lines.append(f"| {label} | 0 | - | {m['mean']['mse']:.5f} | - | {m['mean']['psnr']:.2f} | {m['mean']['ssim']:.4f} | "
                     f"{m['seconds_per_image_embed']:.4f} |")
    m = m_of("unet-refined")
    lines.append(f"| U-Net embedder + {refine} gradient steps ({n_refine} images) | - | - | {m['mean']['mse']:.5f} | - | "
                 f"{m['mean']['psnr']:.2f} | {m['mean']['ssim']:.4f} | {m['seconds_per_image_embed']:.4f} |")
    lines += ["", "# Table 2: dataset against generated images (U-Net embedder)", "",
              "| source images | MSE (ours) | MSE (paper, CelebA) |", "|---|---|---|"]
    lines.append(f"| dataset ({n_eval} test images) | {m_of('unet')['mean']['mse']:.5f} | 0.00147 |")
    g = m_of("generated")
    lines.append(f"| generated ({g['count']} samples) | {g['mean']['mse']:.5f} | 0.00074 |")
    return lines


# --- helpers for the scripts -------------------------------------------------------------------

def field(a):
    """One value of a JSON file (-: stdin), by a dotted path: `field info.json meta.step`."""
    v = json.load(sys.stdin) if a.file == "-" else load(a.file)
    for k in a.path.split("."):
        v = v[k]
    return [json.dumps(v) if isinstance(v, (list, dict)) else str(v)]


def parser():
    p = argparse.ArgumentParser(prog="ddim_tables.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    def add(name, fn, help_text, *args):
        s = sub.add_parser(name, help=help_text, description=help_text)
        s.set_defaults(fn=fn)
        if name != "field":
            s.add_argument("dir", help="the run directory the script wrote")
        for a in args:
            a(s)
        return s

    seconds = lambda s: s.add_argument("--seconds", type=int, required=True, help="wall time of the run")
    images = lambda s: s.add_argument("--images", type=int, required=True, help="images measured")
    refined = lambda s: s.add_argument("--refined", type=int, required=True, help="images refined by gradient steps")

    def main_job_args(s):
        s.add_argument("--samples", type=int, required=True, help="samples of each Fréchet distance")
        s.add_argument("--steps", type=int, default=10, help="DDIM steps S of the Fashion-MNIST commands")
        s.add_argument("--faces", type=int, required=True, help="faces reconstructed")
        s.add_argument("--faces-steps", type=int, default=20, help="DDIM steps S of the faces commands")
        s.add_argument("--faces-model", required=True, help="what the faces model is (models/faces.pt or a config)")
        s.add_argument("--faces-embedder", default="", help="the faces embedder, when the job used one")

    add("main-job", main_job, "scripts/main-job.sh: summary.md", seconds, images, main_job_args)
    add("fashion-mnist", fashion_mnist, "scripts/reproduce.sh fashion-mnist: summary.md", seconds)
    add("embedding", embedding, "scripts/reproduce.sh embedding: summary.md", images, refined)
    add("independence", independence, "scripts/reproduce.sh independence: summary.md")
    add("faces", faces, "scripts/reproduce.sh faces: summary.md", seconds, images, refined)
    add("diffae-faces", diffae_faces, "scripts/reproduce.sh diffae-faces: summary.md", seconds, images,
        lambda s: s.add_argument("--manipulated", type=int, required=True, help="faces manipulated"))
    add("diffae-tables", diffae_tables, "scripts/diffae-tables.sh: tables.md", images)

    def diffusegae_args(s):
        s.add_argument("--size", choices=["full", "quick", "cpu", "tiny"], required=True, help="the script's size")
        s.add_argument("--set", choices=["fonts", "faces"], required=True, help="the data set")
        s.add_argument("--title", required=True, help="what the data is, for the heading")
        s.add_argument("--feature-classifier", required=True, help="the attribute whose classifier's features are measured")

    add("diffusegae", diffusegae, "scripts/diffusegae-tables.sh: tables.md", seconds, diffusegae_args)

    def direct_inversion_args(s):
        s.add_argument("--images", required=True, help="test images edited")
        s.add_argument("--guidance", required=True, help="the guidance weight w")
        s.add_argument("--seeds", required=True, help="SDEdit's seeds")
        s.add_argument("--targets", required=True, help="the target classes, comma-separated")
        s.add_argument("--best-merge", default="", help="write the best Direct Inversion merge λ to this file")

    add("direct-inversion", direct_inversion, "scripts/direct-inversion-study.sh: table.md", direct_inversion_args)

    def table1_args(s):
        s.add_argument("--data", required=True, help="the data set (fashion-mnist or mnist:DIR)")
        s.add_argument("--quick", action="store_true", help="a --quick run (said in the heading)")
        s.add_argument("--refine", type=int, required=True, help="gradient steps of the refined row")

    add("table1", table1, "scripts/reproduce-table1.sh: table1.md", seconds, images, refined, table1_args)
    f = add("field", field, "print one value of a JSON file by a dotted path (meta.step)")
    f.add_argument("file", help="a JSON file (-: read stdin)")
    f.add_argument("path", help="keys joined by dots")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    lines = a.fn(a)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
