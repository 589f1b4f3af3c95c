#!/bin/bash
# Type-check the native crate for both macOS targets against a metadata-only Rust 1.63
# sysroot (build_sysroot.sh): the macOS cfg paths compile, with warnings as errors.
# Nothing is linked, so symbol names and struct layouts against the real SDK are not
# proven (each hand-written constant names its header instead), and #[cfg(test)] code
# is not checked. Usage: check_macos.sh [CRATE_ROOT]
source "$(dirname "$0")/lib.sh"
rc=0
for t in aarch64-apple-darwin x86_64-apple-darwin; do
  check "macos-check-$t" "$PLAT_DIR/check_target.sh" "$t" "$@" || rc=1
done
exit $rc
