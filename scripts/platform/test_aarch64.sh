#!/bin/bash
# Linux aarch64 on x86_64: Debian's rustc 1.63 with its arm64 std (multiarch
# libstd-rust-dev:arm64) and the aarch64 cross gcc build the crate; its tests and the
# project's Deno suite run under qemu-user with Deno's linux-arm64 build from npm.
# Usage: run.sh aarch64 [deno test paths...]   (default: the suite minus the slowest
# CPU-independent files; MMAP_AARCH64_FULL=1: all of it)
#
# Pitfall (cost a while to find): run arm64 programs against ONE glibc. With
# `qemu-aarch64 -L /usr/aarch64-linux-gnu`, ld.so comes from libc6-arm64-cross
# (2.36-8cross1) but libc.so.6 from libc6:arm64 (2.36-9+deb12u*) via the host's
# ld.so.cache, and the first pthread_create spins forever (deno, or any threaded
# program). Without -L both come from libc6:arm64 and all is well.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
T=aarch64-unknown-linux-gnu
DENO_ARM=$TOOLS/deno-$DENO_VERSION-linux-arm64

setup() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
    APT_UPDATED=   # the arm64 package lists are needed now
  fi
  apt_need gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstd-rust-dev:arm64 qemu-user \
    rustc cargo
  npm_file @deno/linux-arm64-glibc "$DENO_VERSION" deno "$DENO_ARM"
}

# Deno's subprocess tests run Deno.execPath(), an arm64 binary: let the kernel hand
# arm64 ELF files to qemu (binfmt_misc), for this run only. binfmt_misc is global to the
# machine and runs may overlap (several worktrees), so each run registers an entry of its
# own and removes only that one: a run that ends first must not pull the entry from under
# another one's subprocesses (they then fail with exit code 127 and no output). A
# permanent entry (binfmt-support, qemu-user-binfmt) is used as it is.
BINFMT=/proc/sys/fs/binfmt_misc
ENTRY=mmap-qemu-aarch64-$$
registered=
binfmt_on() {
  if ! [ -e $BINFMT/register ]; then
    mount -t binfmt_misc binfmt_misc $BINFMT 2>/dev/null || {
      log "binfmt_misc unavailable: subprocess tests will fail"; return 0; }
  fi
  local f
  for f in $(grep -ls 'magic 7f454c460201010000000000000000000200b700' $BINFMT/* || true); do
    case ${f##*/} in mmap-qemu-aarch64*) ;; *) return 0 ;; esac
  done
  # Magic and mask as in qemu's scripts/qemu-binfmt-conf.sh (aarch64).
  printf '%s' ":$ENTRY:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64:" \
    >$BINFMT/register && registered=1
}
binfmt_off() { [ -z "$registered" ] || echo -1 >"$BINFMT/$ENTRY"; }
trap binfmt_off EXIT

timed "aarch64: setup (apt, deno)" setup
binfmt_on
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64
rc=0
paths=("$@")
args=()
if [ ${#paths[@]} -eq 0 ] && [ -n "${MMAP_AARCH64_FULL:-}" ]; then
  paths=(tests/ mod.ts src/)
  args=(--doc)
elif [ ${#paths[@]} -eq 0 ]; then
  # Everything that runs native code, minus suites whose subject does not depend on
  # the CPU and that cost the most under emulation: every child Deno costs 7 s or more
  # under qemu before it runs a line, and a forced GC up to 2 s. On this 2-core
  # machine this part took 38 minutes with views_test.ts in it, 28 without;
  # MMAP_AARCH64_FULL=1 runs everything. The left-out suites run natively and under
  # wine.
  paths=(tests/)
  args=(
    --ignore=tests/loader_test.ts       # loader logic in TS, library variants, subprocesses
    --ignore=tests/download_test.ts     # download/cache logic in TS, ~120 s of subprocesses
    --ignore=tests/bench_smoke_test.ts  # bench harness; deno check of bench/ is ~95 s here
    --ignore=tests/permissions_test.ts  # Deno permission checks made before any native call
    --ignore=tests/permissions_diff_test.ts  # the same, against Deno.open: 12 subprocesses
    --ignore=tests/leak_test.ts         # fd/mapping counts over 3000-cycle loops, ~50 s here
    --ignore=tests/durability_test.ts   # the kernel's write-back after SIGKILL, ~200 s here
    --ignore=tests/examples_test.ts     # the demo's timings, ~40 s here
    --ignore=tests/hostile_test.ts      # argument reading in TS; the copies are fuzz_test's
    # The ways JS moves a buffer (transfer, streams, postMessage), V8's and not the
    # CPU's: ~11 minutes of children here. lifetime_test.ts, which stays, runs the
    # same finalizers and registry on aarch64.
    --ignore=tests/views_test.ts
  )
fi
# --no-check: `deno task test` type-checks the same files natively; under qemu the
# type-check alone takes about two minutes. The limit leaves room for a machine
# slower than this one: CI's has run this part 1.3 times as long.
cross_suite aarch64 $T libmmap_ffi.so mmap_ffi-linux-aarch64.so \
  timeout 3000 qemu-aarch64 "$DENO_ARM" -- --no-check "${args[@]}" "${paths[@]}" || rc=1
exit $rc
