#!/bin/bash
# Windows (x86_64-pc-windows-gnu) on Linux: clippy on the Windows code, the crate's own
# tests and the project's Deno suite (plus tests/windows/) run under wine, with
# Deno for Windows from npm. Debian's rustc 1.63 and its Windows std build everything.
# Usage: test_windows.sh [deno test paths...]   (default: the whole suite, as `deno task test`)
#
# A smoke test of the Windows code, not a substitute for a Windows runner: wine's memory
# manager, locking and error texts are not Windows', and this is the GNU target, not MSVC.
source "$(dirname "$0")/lib.sh"
source "$PLAT_DIR/wine.sh"
cd "$ROOT"
timed "windows: setup (apt, deno.exe, wine prefix)" wine_setup
apt_need rust-clippy
rc=0
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
# Debian's cargo-clippy and clippy-driver are in /usr/bin, before rustup's.
check windows-clippy env PATH="/usr/bin:$PATH" $CARGO clippy --all-targets --target $WIN_TARGET \
  --manifest-path ffi/Cargo.toml --target-dir "$TOOLS/target-clippy" -- -D warnings || rc=1
cargo_test windows-cargo-test $CARGO test --target $WIN_TARGET --manifest-path ffi/Cargo.toml \
  --target-dir "$TOOLS/target" || rc=1
if check windows-build $CARGO build --release --target $WIN_TARGET --manifest-path ffi/Cargo.toml \
  --target-dir "$TOOLS/target"; then
  mkdir -p dist
  cp "$TOOLS/target/$WIN_TARGET/release/mmap_ffi.dll" dist/mmap_ffi-windows-x86_64.dll
  paths=("$@")
  [ ${#paths[@]} -gt 0 ] || paths=(tests/ mod.ts src/)
  # The same flags as `deno task test`; tests/windows/ is inside tests/.
  NO_COLOR=1 deno_suite windows-deno "$PLAT_DIR/known_failures_windows.tsv" "$LOGS/windows-junit.xml" \
    timeout 900 wine "$DENO_EXE" test --allow-ffi --unstable-ffi --allow-read --allow-write \
    --allow-run --allow-env --allow-net=127.0.0.1 --doc --junit-path="$LOGS/windows-junit.xml" \
    "${paths[@]}" || rc=1
else
  rc=1
fi
wineserver -k 2>/dev/null || true
exit $rc
