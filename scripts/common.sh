# shellcheck shell=bash
# Sourced by the scripts of scripts/ and bench/ that run ddim (not run on its own): the lines each of them
# would otherwise repeat.
#   usage                prints the script's header comment: its --help
#   die MESSAGE          "SCRIPT: MESSAGE" on stderr, exit 2 (a bad request)
#   abs PATH             PATH made absolute against the directory the script was started from
#   use_ddim             sets $DDIM: the binary given (--ddim PATH or DDIM=PATH; nothing is installed or built),
#                        else installs what is missing and builds ${DDIM_BUILD_DIR:-build}/ddim
#   ddim ARGS...         runs $DDIM with --threads $DDIM_THREADS when that is set
# On sourcing, the working directory becomes the repository root (paths in the scripts are relative to it)
# and DDIM, when set, is made absolute first.
set -euo pipefail
script_name="$(basename "$0" .sh)"
start_dir="$PWD"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

abs() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$start_dir/$1" ;;
  esac
}

if [ -n "${DDIM:-}" ]; then
  case "$DDIM" in */*) DDIM="$(abs "$DDIM")" ;; *) DDIM="$(command -v "$DDIM" || echo "$DDIM")" ;; esac
fi
cd "$root"

usage() {
  awk 'NR == 1 || /^# shellcheck / { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

die() {
  echo "$script_name: $*" >&2
  exit 2
}

use_ddim() {
  if [ -z "${DDIM:-}" ]; then
    scripts/install-deps.sh >/dev/null
    scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
    DDIM="$root/${DDIM_BUILD_DIR:-build}/ddim"
  fi
  [ -x "$DDIM" ] || die "$DDIM is not an executable (--ddim PATH or DDIM=PATH: a built ddim)"
  export DDIM
}

ddim() {
  "$DDIM" ${DDIM_THREADS:+--threads "$DDIM_THREADS"} "$@"
}
