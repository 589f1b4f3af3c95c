#!/bin/bash
# Toolchain proof without the real crate: build the std-only smoke cdylib (smoke/) for a
# target and run its Deno test there; tells a broken toolchain from a broken crate.
# Usage: run.sh smoke-windows|smoke-aarch64   (after run.sh windows / run.sh aarch64
# installed the packages)
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
    timed "deno.exe test" env SMOKE_LIB="$dll" wine "$DENO_EXE" test -A "$S/smoke_test.ts"
    ;;
  aarch64)
    T=aarch64-unknown-linux-gnu
    npm_file @deno/linux-arm64-glibc "$DENO_VERSION" deno "$TOOLS/deno-$DENO_VERSION-linux-arm64"
    timed "cargo build ($T)" env CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
      $CARGO build -q --release --target $T --manifest-path "$S/Cargo.toml" --target-dir "$TOOLS/target-smoke"
    # No -L: ld.so and libc must both come from libc6:arm64 (see test_aarch64.sh).
    timed "deno test (qemu)" env SMOKE_LIB="$TOOLS/target-smoke/$T/release/libplatform_smoke.so" \
      qemu-aarch64 "$TOOLS/deno-$DENO_VERSION-linux-arm64" test -A "$S/smoke_test.ts"
    ;;
  *) die "unknown target $what" ;;
esac
