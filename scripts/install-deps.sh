#!/usr/bin/env bash
# Installs everything ddim needs from Debian 12's archive. Idempotent: when every package is
# already installed it changes nothing and does not touch the network.
#   scripts/install-deps.sh          # build, run and test
#   scripts/install-deps.sh --fuzz   # and clang with libFuzzer's runtime, for scripts/fuzz.sh
#   scripts/install-deps.sh --dry-run [--fuzz]   # lists what is missing, installs nothing
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
fuzz=0
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fuzz) fuzz=1 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

packages=(
  g++ cmake ninja-build pkg-config          # toolchain
  libtorch-dev                              # LibTorch 1.13 (CPU)
  libdnnl-dev                               # oneDNN headers: the prepared inference form (nn/prepared_unet.h)
  libopenblas0-openmp                       # its BLAS: matrix products 26x faster than the reference BLAS
  libgloo-dev                               # headers of c10d's Gloo backend (data-parallel training)
  libcli11-dev libspdlog-dev libfmt-dev     # command line, logging
  libstb-dev nlohmann-json3-dev zlib1g-dev  # images, JSON, gzip
  libplplot-dev plplot-driver-cairo         # charts (PNG through cairo)
  libgtest-dev                              # tests
  dataset-fashion-mnist                     # the embedded default data set
  # the 24 default fonts of `--data fonts` (src/data/fonts.cpp lists the files)
  fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf fonts-crosextra-carlito
  fonts-crosextra-caladea fonts-open-sans fonts-go fonts-quicksand fonts-tlwg-purisa-ttf
  fonts-ebgaramond-extra fonts-sil-gentium
  python3-torch                             # the PyTorch baselines in bench/, .pt interop tests, `import ddim`
  python3-dev pybind11-dev python3-pytest   # the Python module (python/) and its tests
)
if [ "$fuzz" = 1 ]; then
  packages+=(clang libclang-rt-14-dev)      # scripts/fuzz.sh: clang++ with libFuzzer, ASan and UBSan
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi
if [ "$dry_run" = 1 ]; then
  echo "install-deps: would install ${missing[*]}"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
