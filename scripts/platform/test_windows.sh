#!/bin/bash
# Windows (x86_64-pc-windows-gnu) on Linux: clippy on the Windows code, the crate's own
# tests and the project's Deno suite (plus tests/windows/) run under wine, with
# Deno for Windows from npm. Debian's rustc 1.63 and its Windows std build everything.
# Usage: run.sh windows [deno test paths...]   (default: the whole suite, as `deno task test`)
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
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(tests/ mod.ts src/)
# tests/windows/ is inside tests/.
wine_sweep_start
# deno.exe itself, not a test, has died under wine now and then (lib.sh, deno_suite).
export CRASH_RETRY='wine: Unhandled (page fault|exception)'
cross_suite windows $WIN_TARGET mmap_ffi.dll mmap_ffi-windows-x86_64.dll \
  timeout 1500 wine "$DENO_EXE" -- --doc "${paths[@]}" || rc=1
wine_sweep_stop
wineserver -k 2>/dev/null || true
exit $rc
