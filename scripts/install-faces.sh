#!/usr/bin/env bash
# Installs what tools/faces/render.mjs (the cartoon-faces data set) needs: Node.js and npm from
# Debian's archive when they are missing, then the packages pinned in tools/faces/package-lock.json
# (facesjs, resvg-js and its prebuilt binary) into tools/faces/node_modules. Idempotent: when all
# of it is installed it changes nothing and does not touch the network.
#   scripts/install-faces.sh
#   scripts/install-faces.sh --dry-run    # says whether anything is missing, installs nothing
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
dry_run=0
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --dry-run) dry_run=1 ;;
  ?*) die "unknown option $1 (see --help)" ;;
esac
dir="$root/tools/faces"
log="$(mktemp "${TMPDIR:-/tmp}/install-faces.XXXXXX")"
trap 'rm -f "$log"' EXIT

fail() {  # one line on stderr, then exit 1; keeps the log of the failed step
  trap - EXIT
  echo "install-faces: $1" >&2
  exit 1
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$dry_run" = 1 ]; then echo "install-faces: would install nodejs npm, then tools/faces/node_modules"; exit 0; fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "need root (or sudo) to install Node.js; run as root: apt-get update && apt-get install nodejs npm"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends nodejs npm; } >"$log" 2>&1 ||
    fail "apt-get could not install nodejs npm (log: $log); run: sudo apt-get update && sudo apt-get install nodejs npm"
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 18 ] || fail "node $(node --version) is too old, render.mjs needs Node.js 18 or newer; install a newer nodejs"

# Installed when the versions in node_modules are the ones in the lock and resvg's binary loads.
installed() {
  (cd "$dir" && node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    for (const p of ["facesjs", "@resvg/resvg-js"]) {
      const have = JSON.parse(fs.readFileSync(`node_modules/${p}/package.json`, "utf8")).version;
      if (have !== lock[`node_modules/${p}`].version) process.exit(1);
    }
    require("@resvg/resvg-js");
  ') >/dev/null 2>&1
}

if ! installed; then
  if [ "$dry_run" = 1 ]; then echo "install-faces: would install tools/faces/node_modules (npm ci)"; exit 0; fi
  (cd "$dir" && npm ci --omit=dev --no-audit --no-fund) >"$log" 2>&1 ||
    fail "npm ci failed (log: $log); run: cd tools/faces && npm ci --omit=dev"
  installed || fail "tools/faces/node_modules is incomplete after npm ci; run: cd tools/faces && rm -rf node_modules && npm ci --omit=dev"
fi

versions="$(cd "$dir" && node -p '["facesjs", "@resvg/resvg-js"].map((p) => p + " " + require(`./node_modules/${p}/package.json`).version).join(", ")')"
echo "install-faces: $versions installed in tools/faces/node_modules (node $(node --version))"
