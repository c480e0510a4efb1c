#!/usr/bin/env bash
# Runs a reference run, one of those behind models/ (models/README.md): configs/reference/NAME.toml holds every
# option of it, the seed included. Starts it, or resumes it when OUT already holds it.
#   scripts/reference.sh NAME [--steps N] [--out DIR] [--threads N] [--ddim PATH] [-- OPTIONS...]
#   scripts/reference.sh --list            # the names
#   scripts/reference.sh --check [NAME]    # ddim parses each config (DDIM_PARSE_ONLY=1); nothing runs
# NAME: a file of configs/reference/ without .toml. The config's table names the command ([train],
# [train-embedder], [train-latent], [train-classifier], [data.render-faces]), its top-level keys are global
# options (the seed). Options:
#   --steps N    the run's length instead of the config's (train-classifier: its epochs)
#   --out DIR    where it runs (default runs/reference/NAME)
#   --threads N  CPU threads (default 1; a data set's renderer jobs)
#   --ddim PATH  this built ddim (or DDIM=PATH); else what is missing is installed and build/ddim built
#   -- OPTIONS   passed to the command as they are, after the config's (e.g. -- --preview-samples 0)
# A training that writes checkpoints resumes when OUT holds files (`ddim --config CONFIG COMMAND --resume
# OUT`: to the config's length, or --steps N; the rest comes from the checkpoint); one that cannot resume
# refuses such an OUT. A rendered data set is kept once rendered, and rendered first by a run whose data names
# it (faces:runs/reference/faces-glasses-data). fonts-diffae runs in two stages (fonts-diffae.toml, then
# fonts-diffae-stage2.toml from stage 1's fp16 release; --steps sets both), as it ran. Runs from the
# repository root, where the configs name data and models (a model records models/faces.pt as given, not as
# a path of this machine); DIR is relative to where it was started.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

configs=configs/reference
names() { for f in "$configs"/*.toml; do basename "$f" .toml; done | grep -v -- '-stage2$'; }

name=""
steps=""
out=""
threads=1
check=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift ;;
    --out) out="$(abs "$2")"; shift ;;
    --threads) threads="$2"; shift ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    --list) names; exit 0 ;;
    --check) check=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$name" ] || die "one NAME, not '$name' and '$1' (see --help)"; name="$1" ;;
  esac
  shift
done
[ -n "$name" ] || [ "$check" = 1 ] || die "which run? NAME is one of: $(names | paste -sd ' ')"
if [ -n "$name" ]; then
  [ -f "$configs/$name.toml" ] || die "no run named '$name' (one of: $(names | paste -sd ' '))"
  case "$name" in *-stage2) die "$name is the second stage of ${name%-stage2}: run ${name%-stage2}" ;; esac
fi
if [ -n "$steps" ]; then [[ "$steps" =~ ^[1-9][0-9]*$ ]] || die "--steps $steps: a positive integer"; fi
use_ddim

# The command a config runs, from its one [table]: [data.render-faces] -> "data render-faces".
command_of() {
  local tables
  tables="$(sed -n 's/^\[\([a-z.-]*\)\][[:space:]]*$/\1/p' "$1")"
  [ "$(printf '%s\n' "$tables" | grep -c .)" = 1 ] || die "$1: one [command] table, not '$(printf '%s' "$tables" | paste -sd ' ')'"
  printf '%s\n' "${tables//./ }"
}

# A config's data folder that another reference run makes: data = "faces:runs/reference/X" and X.toml exists.
made_data() {
  local dir
  dir="$(sed -n 's/^data = "[a-z0-9-]*:runs\/reference\/\([a-z0-9-]*\)"$/\1/p' "$1")"
  if [ -n "$dir" ] && [ -f "$configs/$dir.toml" ]; then echo "$dir"; fi
}

# run CONFIG OUT [ARGS...]: the config's command into OUT, started or resumed; ARGS go to the command.
run() {
  local run_name="$1" config="$configs/$1.toml" dir="$2"
  shift 2
  local -a cmd
  read -r -a cmd <<< "$(command_of "$config")"
  local -a length=()
  if [ -n "$steps" ]; then
    if [ "${cmd[0]}" = train-classifier ]; then length=(--epochs "$steps"); else length=(--steps "$steps"); fi
  fi
  local data
  data="$(made_data "$config")"
  [ -z "$data" ] || run "$data" "$root/runs/reference/$data"
  if [ "${cmd[*]}" = "data render-faces" ]; then
    if [ -f "$dir/attributes.csv" ]; then echo "$run_name: kept $dir" >&2; return; fi
    [ -d tools/faces/node_modules ] || scripts/install-faces.sh >/dev/null
    "$DDIM" --config "$config" "${cmd[@]}" --jobs "$threads" --out "$dir" "$@"
  elif [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    [[ "$("$DDIM" "${cmd[@]}" --help)" == *--resume* ]] ||
      die "$dir already holds files and ${cmd[*]} cannot resume: remove it or give another --out"
    echo "$run_name: resuming $dir" >&2
    "$DDIM" --config "$config" --threads "$threads" "${cmd[@]}" --resume "$dir" "${length[@]}" "${extra[@]}"
  else
    "$DDIM" --config "$config" --threads "$threads" "${cmd[@]}" "${length[@]}" --out "$dir" "$@" "${extra[@]}"
  fi
}

if [ "$check" = 1 ]; then
  # Every config (or NAME's) as ddim reads it: an unknown key, a bad value or a renamed option fails here.
  failed=0
  for n in ${name:-$(ls "$configs" | sed -n 's/\.toml$//p')}; do
    read -r -a cmd <<< "$(command_of "$configs/$n.toml")"
    init=()
    [ "$n" = fonts-diffae-stage2 ] && init=(--init models/fonts-diffae.pt)
    if DDIM_PARSE_ONLY=1 "$DDIM" --config "$configs/$n.toml" "${cmd[@]}" --out runs/reference/"$n" "${init[@]}"; then
      echo "ok $n (${cmd[*]})"
    else
      echo "FAILED $n (${cmd[*]})"
      failed=1
    fi
  done
  exit "$failed"
fi

out="${out:-$root/runs/reference/$name}"
case "$name" in
  fonts-diffae)
    run fonts-diffae "$out/stage1"
    "$DDIM" export --release --storage fp16 --model "$out/stage1/model.pt" --out "$out/stage1-release.pt"
    run fonts-diffae-stage2 "$out/stage2" --init "$out/stage1-release.pt"
    "$DDIM" export --release --storage fp16 --model "$out/stage2/model.pt" --out "$out/fonts-diffae.pt"
    echo "fonts-diffae: $out/fonts-diffae.pt"
    ;;
  *) run "$name" "$out" ;;
esac
