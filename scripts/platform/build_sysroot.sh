#!/bin/bash
# Build a metadata-only Rust sysroot (no codegen, no linker) for any target from Debian's
# rust-src and librust-*-dev crate sources, so `rustc --emit=metadata` can type-check
# std-using code for e.g. aarch64-apple-darwin on Linux, offline. Checks against std 1.63.
# Usage: build_sysroot.sh TARGET   (prints the sysroot path on stdout; cached)
source "$(dirname "$0")/lib.sh"
T=${1:?usage: build_sysroot.sh TARGET}
apt_need rustc rust-src librust-libc-dev librust-cfg-if-dev librust-hashbrown-dev \
  librust-rustc-demangle-dev librust-compiler-builtins-dev
RC=/usr/bin/rustc
L=/usr/lib/rustlib/src/rust/library
R=/usr/share/cargo/registry
S=$TOOLS/sysroot-$($RC --version | awk '{print $2}')
O=$S/lib/rustlib/$T/lib
stamp=$O/.complete
if [ -f "$stamp" ]; then echo "$S"; exit 0; fi
# One crate-source directory per name; Debian ships exactly one version of each.
src() {
  local d; d=$(ls -d "$R/$1"-[0-9]* 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || die "no $1 sources in $R"
  echo "$d"
}
LIBC=$(src libc) CFG_IF=$(src cfg-if) HASHBROWN=$(src hashbrown) DEMANGLE=$(src rustc-demangle)
rm -rf "$O" && mkdir -p "$O"
export RUSTC_BOOTSTRAP=1
ARCH=$($RC --print cfg --target "$T" | sed -n 's/target_arch="\(.*\)"/\1/p')
c() { # name edition src [extra...]
  local n=$1 e=$2 s=$3; shift 3
  $RC --crate-name "$n" --edition "$e" --crate-type lib --emit=metadata --target "$T" \
    --sysroot "$S" -Zforce-unstable-if-unmarked --cap-lints allow -o "$O/lib$n.rmeta" "$@" "$s"
}
X() { echo "--extern $1=$O/lib$2.rmeta"; }
t0=$SECONDS
c core 2021 $L/core/src/lib.rs
CB=$(mktemp --suffix=.rs)
printf '#![no_std]\n#![feature(compiler_builtins)]\n#![compiler_builtins]\n' >"$CB"
c compiler_builtins 2018 "$CB"; rm -f "$CB"
c rustc_std_workspace_core 2021 $L/rustc-std-workspace-core/lib.rs $(X core core)
c alloc 2021 $L/alloc/src/lib.rs
c rustc_std_workspace_alloc 2021 $L/rustc-std-workspace-alloc/lib.rs $(X alloc alloc)
# The cfgs libc's build.rs would set for rustc 1.63.
LIBC_CFG="--cfg libc_priv_mod_use --cfg libc_union --cfg libc_const_size_of --cfg libc_align
  --cfg libc_int128 --cfg libc_core_cvoid --cfg libc_packedN --cfg libc_cfg_target_vendor
  --cfg libc_non_exhaustive --cfg libc_ptr_addr_of --cfg libc_underscore_const_names
  --cfg libc_const_extern_fn"
c libc 2015 $LIBC/src/lib.rs --cfg 'feature="rustc-dep-of-std"' --cfg 'feature="align"' \
  $LIBC_CFG $(X rustc_std_workspace_core rustc_std_workspace_core)
c cfg_if 2018 $CFG_IF/src/lib.rs
c hashbrown 2021 $HASHBROWN/src/lib.rs --cfg 'feature="nightly"' --cfg 'feature="rustc-internal-api"' \
  --cfg 'feature="rustc-dep-of-std"' --cfg 'feature="core"' --cfg 'feature="compiler_builtins"' \
  $(X core rustc_std_workspace_core) $(X alloc rustc_std_workspace_alloc)
c rustc_demangle 2015 $DEMANGLE/src/lib.rs --cfg 'feature="rustc-dep-of-std"' --cfg 'feature="core"' \
  $(X core rustc_std_workspace_core)
c std_detect 2018 $L/stdarch/crates/std_detect/src/lib.rs --cfg 'feature="rustc-dep-of-std"' \
  --cfg 'feature="core"' --cfg 'feature="alloc"' --cfg 'feature="compiler_builtins"' \
  $(X core rustc_std_workspace_core) $(X alloc rustc_std_workspace_alloc) $(X cfg_if cfg_if)
c unwind 2021 $L/unwind/src/lib.rs $(X libc libc) $(X cfg_if cfg_if)
c panic_abort 2021 $L/panic_abort/src/lib.rs -C panic=abort $(X libc libc) $(X cfg_if cfg_if) $(X alloc alloc)
STD_ENV_ARCH=$ARCH c std 2021 $L/std/src/lib.rs --cfg backtrace_in_libstd $(X alloc alloc) \
  $(X libc libc) $(X unwind unwind) $(X cfg_if cfg_if) $(X hashbrown hashbrown) \
  $(X std_detect std_detect) $(X rustc_demangle rustc_demangle) $(X panic_abort panic_abort)
touch "$stamp"
log "sysroot $T built in $((SECONDS - t0))s"
echo "$S"
