#!/bin/bash
# Type-check a crate root for a target that has no std installed here, against a
# metadata-only sysroot (build_sysroot.sh). Nothing is linked: symbol names and struct
# layouts against the real SDK are not proven, only that the code compiles for the target.
# Usage: check_target.sh TARGET [CRATE_ROOT] [extra rustc args...]
source "$(dirname "$0")/lib.sh"
T=${1:?usage: check_target.sh TARGET [CRATE_ROOT]}
SRC=${2:-$ROOT/ffi/src/lib.rs}
shift $(($# < 2 ? $# : 2))
SYSROOT=$("$PLAT_DIR/build_sysroot.sh" "$T")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
name=$(basename "$(dirname "$(dirname "$SRC")")")
/usr/bin/rustc --edition 2021 --crate-type cdylib --crate-name "${name//-/_}" -C panic=abort \
  --emit=metadata --target "$T" --sysroot "$SYSROOT" -D warnings --out-dir "$out" "$@" "$SRC"
log "type-checked $SRC for $T"
