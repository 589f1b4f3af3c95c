# Shared helpers for scripts/platform/*.sh. Source it; do not run it.
# Everything a check needs is installed here from Debian (apt) and npm, idempotently, so
# a clean machine and a warm one run the same scripts.
set -euo pipefail

PLAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$PLAT_DIR/../.." && pwd)
# Downloads, the wine prefix, sysroots and cross build dirs live here (gitignored).
TOOLS=${MMAP_PLATFORM_CACHE:-$ROOT/.tools/platform}
DENO_VERSION=${DENO_VERSION:-2.9.6}
# Debian's Rust 1.63 builds every cross target; the rustup toolchain is for Linux only.
export RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
mkdir -p "$TOOLS"

log() { printf '[platform] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# timed LABEL CMD...: run CMD, then print how long it took.
timed() {
  local label=$1 t0=$SECONDS; shift
  "$@"
  log "$label: $((SECONDS - t0))s"
}

APT_UPDATED=${APT_UPDATED:-}
# apt_need PKG...: install the Debian packages that are missing, quietly.
apt_need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1; export APT_UPDATED
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$TOOLS/apt.log" 2>&1 || { tail -20 "$TOOLS/apt.log" >&2; die "apt-get install failed"; }
}

# npm_file PKG VERSION FILE DEST: extract FILE (path inside the package) from an npm
# package tarball into DEST, once (the tarball is cached in $TOOLS/npm).
npm_file() {
  local pkg=$1 ver=$2 file=$3 dest=$4
  [ -f "$dest" ] && return 0
  local dir="$TOOLS/npm" tgz
  mkdir -p "$dir"
  tgz="$dir/$(echo "${pkg#@}" | tr / -)-$ver.tgz"
  if [ ! -f "$tgz" ]; then
    log "npm pack $pkg@$ver"
    (cd "$dir" && npm pack --silent "$pkg@$ver" >/dev/null) || die "npm pack $pkg@$ver failed"
  fi
  mkdir -p "$(dirname "$dest")"
  tar xzf "$tgz" -O "package/$file" >"$dest.tmp" && mv "$dest.tmp" "$dest"
  chmod +x "$dest"
}
