#!/usr/bin/env bash
# scripts/reference.sh end to end on two configs at their smallest (tests/scripts.cmake):
#   tests/scripts/reference-runs.sh OUT
# fashion-mnist started for 1 step, then resumed to 2 (the resume-or-start logic); fonts-diffae for 1 step a
# stage (its two stages and their fp16 releases); an unknown name is refused. $DDIM is the ddim to run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1"
rm -rf "$out"
step_of() { "$DDIM" info "$1" --json | python3 "$root/scripts/ddim_tables.py" field - meta.step; }
expect() {  # WHAT GOT WANTED
  if [ "$2" != "$3" ]; then echo "reference-runs: $1: $2, not $3" >&2; exit 1; fi
}
ref=("$root/scripts/reference.sh")
"${ref[@]}" fashion-mnist --steps 1 --out "$out/fashion-mnist" -- --preview-samples 0
expect "fashion-mnist started" "$(step_of "$out/fashion-mnist/model.pt")" 1
expect "its seed" "$(sed -n 's/^seed = //p' "$out/fashion-mnist/config.toml")" 1
"${ref[@]}" fashion-mnist --steps 2 --out "$out/fashion-mnist" -- --preview-samples 0 2> "$out/resume.log"
grep -q "fashion-mnist: resuming" "$out/resume.log" || { cat "$out/resume.log" >&2; exit 1; }
expect "fashion-mnist resumed" "$(step_of "$out/fashion-mnist/model.pt")" 2
"${ref[@]}" fonts-diffae --steps 1 --out "$out/fonts-diffae" -- --preview-samples 0
expect "fonts-diffae's release" "$(step_of "$out/fonts-diffae/fonts-diffae.pt")" 1
expect "fonts-diffae's stage 2 seed" "$(sed -n 's/^seed = //p' "$out/fonts-diffae/stage2/config.toml")" 2
status=0
"${ref[@]}" no-such-run 2> "$out/unknown.log" || status=$?
expect "an unknown name's exit status" "$status" 2
grep -q "no run named 'no-such-run'" "$out/unknown.log"
echo "reference-runs: ok"
