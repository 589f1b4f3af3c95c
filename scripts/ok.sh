#!/usr/bin/env bash
# The one gate. `deno task ok`, .ci/run and the CI workflow run it; nothing
# else lists the gates. Runs every gate (or the ones named), reports each,
# keeps going after a failure, and exits non-zero if any failed.
#
# Usage: scripts/ok.sh [GATE...]   (default: all, in this order)
#   fmt         deno fmt --check
#   lint        deno lint
#   doc-lint    deno doc --lint mod.ts
#   types       deno check tests/types_test.ts (what the public types promise)
#   test        deno task test (builds ffi/ into dist/, runs tests/, doc tests)
#   cargo-fmt   cargo fmt --check on ffi/
#   clippy      cargo clippy on ffi/, all targets, warnings are errors
#   cargo-test  cargo test on ffi/
#
# A gate's output is shown in full when it fails, else its last lines.
# OK_LOGS=DIR keeps each gate's output in DIR/<gate>.log and writes
# DIR/status.tsv ("gate<TAB>exit code" per gate), for .ci/run's counts.
set -uo pipefail
cd "$(dirname "$0")/.."

ALL=(fmt lint doc-lint types test cargo-fmt clippy cargo-test)
CRATE=(--manifest-path ffi/Cargo.toml)

gate() {
  case $1 in
    fmt) deno fmt --check ;;
    lint) deno lint ;;
    doc-lint) deno doc --lint mod.ts ;;
    types) deno check tests/types_test.ts ;;
    test) deno task test ;;
    cargo-fmt) cargo fmt "${CRATE[@]}" --check ;;
    clippy) cargo clippy "${CRATE[@]}" --all-targets -- -D warnings ;;
    cargo-test) cargo test "${CRATE[@]}" ;;
    *)
      echo "unknown gate \"$1\"; the gates are: ${ALL[*]}"
      return 2
      ;;
  esac
}

command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
logs=${OK_LOGS:-}
if [ -z "$logs" ]; then
  logs=$(mktemp -d)
  trap 'rm -rf "$logs"' EXIT
fi
mkdir -p "$logs"
: >"$logs/status.tsv"

gates=("$@")
[ ${#gates[@]} -gt 0 ] || gates=("${ALL[@]}")
failing=()
for name in "${gates[@]}"; do
  log=$logs/$name.log
  t0=$SECONDS
  echo "==> $name"
  gate "$name" >"$log" 2>&1
  rc=$?
  printf '%s\t%s\n' "$name" "$rc" >>"$logs/status.tsv"
  if [ "$rc" = 0 ]; then
    tail -n 5 "$log"
    echo "<== $name: ok ($((SECONDS - t0))s)"
  else
    cat "$log"
    echo "<== $name: FAILED, exit code $rc ($((SECONDS - t0))s)"
    failing+=("$name")
  fi
done

if [ ${#failing[@]} -eq 0 ]; then
  echo "ok: every gate passed (${gates[*]})"
else
  echo "not ok: failing gates: ${failing[*]}"
  exit 1
fi
