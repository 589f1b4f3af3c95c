#!/bin/bash
# The crate's minimum Rust (rust-version = "1.63" in ffi/Cargo.toml): build and test it
# natively with Debian's rustc 1.63. Current stable is covered by .ci/run's cargo steps.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
apt_need rustc cargo
rc=0
check msrv-build $CARGO build --release --manifest-path ffi/Cargo.toml \
  --target-dir "$TOOLS/target-msrv" || rc=1
cargo_test msrv-cargo-test $CARGO test --manifest-path ffi/Cargo.toml \
  --target-dir "$TOOLS/target-msrv" || rc=1
exit $rc
