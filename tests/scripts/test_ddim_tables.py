"""Tests of scripts/ddim_tables.py: each subcommand on a fixture run (tests/scripts/fixtures/NAME/: the files
ddim wrote in a real tiny run, per-image arrays dropped) against NAME/expected.md, byte for byte. Every
expected.md but main-job's was written by the Python the scripts held before the module (commit 0358bac), so
these tests also show that the tables in docs/results/ come out as they did.

    python3 tests/scripts/test_ddim_tables.py     # ctest: Scripts.DdimTables
"""
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import ddim_tables  # noqa: E402

# Each case: the fixture and the subcommand's arguments after it (those the fixture's run had).
CASES = {
    "main-job": ["main-job", "--seconds", "125", "--images", "4", "--samples", "16", "--faces", "2", "--steps", "2",
                 "--faces-steps", "2", "--faces-model", "models/faces.pt", "--faces-embedder", "models/faces-embedder.pt"],
    "fashion-mnist": ["fashion-mnist", "--seconds", "38"],
    "embedding": ["embedding", "--images", "1", "--refined", "1"],
    "independence": ["independence"],
    "faces": ["faces", "--seconds", "283", "--images", "1", "--refined", "16"],
    "diffae-faces": ["diffae-faces", "--seconds", "517", "--images", "1", "--manipulated", "4"],
    "diffae-tables": ["diffae-tables", "--images", "2"],
    "diffusegae": ["diffusegae", "--size", "quick", "--set", "fonts", "--seconds", "6000",
                   "--title", "a Fonts subset at 32x32", "--feature-classifier", "letter"],
    "direct-inversion": ["direct-inversion", "--images", "2", "--guidance", "3", "--seeds", "1",
                         "--targets", "Sneaker,Bag,Trouser,Dress"],
    "direct-inversion-truth": ["direct-inversion", "--images", "2", "--guidance", "3", "--seeds", "1",
                               "--targets", "Sneaker,Bag,Trouser,Dress"],
    "table1": ["table1", "--data", "fashion-mnist", "--quick", "--seconds", "39", "--images", "2", "--refined", "1",
               "--refine", "2"],
}


def run(argv):
    """The module's output for argv, run from the fixtures folder (tables name files relative to it)."""
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(FIXTURES)
    try:
        with contextlib.redirect_stdout(out):
            assert ddim_tables.main(argv) == 0
    finally:
        os.chdir(cwd)
    return out.getvalue()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class Tables(unittest.TestCase):
    def test_every_case_matches_its_expected_table(self):
        for name, args in CASES.items():
            with self.subTest(name):
                self.assertEqual(run([args[0], name] + args[1:]), read(os.path.join(FIXTURES, name, "expected.md")))

    def test_every_fixture_has_a_case(self):
        self.assertEqual(sorted(CASES), sorted(d for d in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, d))))

    def test_direct_inversion_writes_the_best_merge(self):
        for name in ("direct-inversion", "direct-inversion-truth"):
            with self.subTest(name), tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "best-merge.txt")
                run([CASES[name][0], name] + CASES[name][1:] + ["--best-merge", path])
                self.assertEqual(read(path), read(os.path.join(FIXTURES, name, "expected-best-merge.txt")))

    def test_main_job_without_an_embedder_leaves_its_rows_out(self):
        args = CASES["main-job"]
        table = run([args[0], "main-job"] + args[1:args.index("--faces-model")] + ["--faces-model", "configs/faces-quick.toml"])
        self.assertNotIn("embedder", table)
        self.assertIn("| faces samples (configs/faces-quick.toml) | faces-samples/samples.png |", table)

    def test_diffusegae_says_which_size_ran(self):
        args = CASES["diffusegae"]
        tiny = run([args[0], "diffusegae"] + [("tiny" if a == "quick" else a) for a in args[1:]])
        self.assertTrue(tiny.startswith("# DiffuseGAE on a Fonts subset at 32x32 (REDUCED --tiny run)\n"), tiny[:80])
        self.assertIn("measured by scripts/diffusegae-tables.sh --tiny in 100 min.", tiny)
        cpu = run([args[0], "diffusegae"] + [("cpu" if a == "quick" else a) for a in args[1:]])
        self.assertTrue(cpu.startswith("# DiffuseGAE on a Fonts subset at 32x32\n"), cpu[:80])

    def test_diffae_faces_says_when_a_probe_has_no_auroc(self):
        # ddim writes null when the test codes hold one class only (a tiny run's faces).
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "diffae-faces")
            shutil.copytree(os.path.join(FIXTURES, "diffae-faces"), run_dir)
            path = os.path.join(run_dir, "manipulate-blond", "manipulate.json")
            with open(path, encoding="utf-8") as f:
                j = json.load(f)
            j["classifier"]["auroc"] = None
            with open(path, "w", encoding="utf-8") as f:
                json.dump(j, f)
            table = run([CASES["diffae-faces"][0], run_dir] + CASES["diffae-faces"][1:])
        self.assertIn("| hair_colour = golden_blond (AUROC -) | +0 |", table)

    def test_field_reads_a_dotted_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "info.json")
            with open(path, "w") as f:
                json.dump({"meta": {"step": 2000, "widths": [16, 32]}}, f)
            self.assertEqual(run(["field", path, "meta.step"]), "2000\n")
            self.assertEqual(run(["field", path, "meta.widths"]), "[16, 32]\n")

    def test_a_missing_file_fails_with_its_name(self):
        with self.assertRaises(FileNotFoundError) as e:
            run(["independence", "no-such-run"])
        self.assertIn("no-such-run/independence.json", str(e.exception))


if __name__ == "__main__":
    unittest.main()
