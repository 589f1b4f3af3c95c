#!/bin/bash
# Phase-1 toolchain proof: build the throwaway smoke cdylib for a target and run its Deno
# test there. Usage: smoke.sh windows|aarch64|linux
source "$(dirname "$0")/lib.sh"
what=${1:?usage: smoke.sh windows|aarch64|linux}
S=$PLAT_DIR/smoke
case $what in
  windows)
    source "$PLAT_DIR/wine.sh"
    timed "wine setup" wine_setup
    timed "cargo build ($WIN_TARGET)" $CARGO build -q --release --target $WIN_TARGET \
      --manifest-path "$S/Cargo.toml" --target-dir "$TOOLS/target-smoke"
    dll=$TOOLS/target-smoke/$WIN_TARGET/release/platform_smoke.dll
    timed "deno.exe test" env SMOKE_LIB="$dll" wine "$DENO_EXE" test -A --no-check=remote "$S/smoke_test.ts"
    ;;
  *) die "unknown target $what" ;;
esac
