#!/usr/bin/env bash
# Builds examples/ against the *installed* ddim package and runs them on a tiny model, as a
# user of the library would: `cmake --install` into a scratch prefix, then a separate CMake
# project that does find_package(ddim). Run by ctest (label slow).
# Usage: tests/examples.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1" src="$2" tmp="$3"
rm -rf "$tmp"
mkdir -p "$tmp"
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$src/examples" -B "$tmp/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix${CMAKE_PREFIX_PATH:+;$CMAKE_PREFIX_PATH}" >"$tmp/configure.log"
cmake --build "$tmp/build" --parallel "$(nproc)" >"$tmp/build.log"

# A tiny denoiser and embedder, trained in seconds with the installed tool.
ddim="$tmp/prefix/bin/ddim"
tiny=(--widths 8,16 --block-depth 1 --embedding-dims 8 --batch 8 --threads 1 --log-level warn)
"$ddim" train --data fashion-mnist --limit 64 --steps 4 --preview-samples 0 "${tiny[@]}" --out "$tmp/model"
"$ddim" train-embedder --model "$tmp/model/model.pt" --arch conv1 --steps 2 --batch 8 --ddim-steps 10 \
  --threads 1 --log-level warn --out "$tmp/embedder"

out=$("$tmp/build/embed_and_decode" "$tmp/model/model.pt" "$tmp/embedder/model.pt")
echo "$out"
[ "$(echo "$out" | grep -c -E '^ +[0-9]+ +[0-9.]+ +[0-9.]+$')" = 3 ] || { echo "expected three image rows" >&2; exit 1; }
echo "$out" | grep -q -E '^mean +[0-9.]+ +[0-9.]+$' || { echo "expected the mean row" >&2; exit 1; }

# The example samples given seeds exactly as `ddim sample --seeds-in` does.
"$ddim" sample --model "$tmp/model/model.pt" --n 8 --seed 3 --threads 1 --log-level warn --out "$tmp/sample"
out=$("$tmp/build/sample_seeds" "$tmp/model/model.pt" "$tmp/grid.png" "$tmp/sample/seeds.pt")
echo "$out"
[ -s "$tmp/grid.png" ] || { echo "no grid.png" >&2; exit 1; }
[ "$(echo "$out" | grep -c 'mean pixel')" = 8 ] || { echo "expected eight images" >&2; exit 1; }
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  expected=$(/usr/bin/python3 -c "
import torch
s = torch.load('$tmp/sample/samples.pt')
for i in range(s.shape[0]): print(f'image {i}: mean pixel {s[i].mean().item():.6f}')")
  [ "$out" = "$expected" ] || { echo "the example and ddim sample differ:"; echo "$expected"; exit 1; } >&2
else
  echo "python3 torch is missing: the bit-for-bit comparison with ddim sample was skipped" >&2
fi
# A bad file gives one clear line and a non-zero status.
if "$tmp/build/sample_seeds" "$tmp/missing.pt" "$tmp/x.png" 2>"$tmp/err.txt"; then exit 1; fi
grep -q "missing.pt" "$tmp/err.txt" || { cat "$tmp/err.txt" >&2; exit 1; }
# The README's ten lines are this example, word for word, and run from a folder with models/.
readme_block=$(awk '/^## The library in ten lines/{f=1;next} f&&/^```cpp/{g=1;next} g&&/^```/{exit} g{print}' "$src/README.md")
[ "$readme_block" = "$(cat "$src/examples/ten_lines.cpp")" ] ||
  { echo "README.md's ten lines and examples/ten_lines.cpp differ" >&2; exit 1; }
mkdir -p "$tmp/ten" && ln -sfn "$src/models" "$tmp/ten/models"
(cd "$tmp/ten" && "$tmp/build/ten_lines")
python3 -c "import sys; d=open(sys.argv[1],'rb').read(24); w=int.from_bytes(d[16:20],'big'); sys.exit(0 if d[:8]==b'\x89PNG\r\n\x1a\n' and w > 200 else 1)" "$tmp/ten/samples.png" ||
  { echo "ten_lines wrote no grid of eight samples" >&2; exit 1; }

# The installed package renders faces with its own renderer (share/ddim/faces), not the source
# tree's: a user's install need not keep the source tree. DDIM_FACES_GENERATOR would override it.
if [ -d "$src/tools/faces/node_modules" ]; then
  env -u DDIM_FACES_GENERATOR "$ddim" data render-faces --count 10 --size 32 --jobs 1 --threads 1 \
    --out "$tmp/faces" 2>&1 | tee "$tmp/render.log"
  grep -q "rendering with $tmp/prefix/share/ddim/faces/render.mjs" "$tmp/render.log" ||
    { echo "the installed ddim did not use its installed renderer" >&2; exit 1; }
  [ "$(ls "$tmp/faces/train" | wc -l)" = 9 ] && [ "$(ls "$tmp/faces/test" | wc -l)" = 1 ] ||
    { echo "expected 9 train and 1 test faces" >&2; exit 1; }
  "$ddim" data info --data "faces:$tmp/faces" --split all --threads 1 --log-level warn | grep -q "10" ||
    { echo "the rendered set does not read back" >&2; exit 1; }
else
  echo "tools/faces/node_modules is missing (scripts/install-faces.sh): the installed renderer was not tried" >&2
fi
# The installed Python module: `import ddim` from the prefix's site packages, not the build
# tree, and the same bits as the installed tool.
site=$(find "$tmp/prefix/lib" -maxdepth 3 -type d -name ddim -path '*-packages/ddim' | head -1)
if [ -n "$site" ]; then
  (cd "$tmp" && PYTHONPATH="$(dirname "$site")" /usr/bin/python3 - "$tmp" "$site" <<'PY'
import sys, torch, ddim
tmp, site = sys.argv[1], sys.argv[2]
assert ddim.__file__.startswith(site), ddim.__file__
ddim.set_threads(1)
m = ddim.load(tmp + "/model/model.pt")
ours = m.sample(n=8, seed=3, steps=10)
assert torch.equal(ours, ddim.load_tensor(tmp + "/sample/samples.pt")), "installed ddim and ddim sample differ"
print("python: import ddim from", site)
PY
  ) || { echo "the installed Python module failed" >&2; exit 1; }
else
  echo "no Python module was installed (python3-torch, pybind11-dev, python3-dev): import ddim was not tried" >&2
fi
echo "examples: built against $tmp/prefix and ran"
