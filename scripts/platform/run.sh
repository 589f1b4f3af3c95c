#!/bin/bash
# The one entry point of the platform checks (README.md beside this file says what each
# does, how long it takes and what it installs). Runs the named checks in turn, keeps
# going after a failure, and ends with "N passed, N failed, N skipped" (known failures
# count as skipped; see known_failures_*.tsv). Logs: $MMAP_PLATFORM_CACHE/logs/
# (default .tools/platform/logs/).
#
# Usage: run.sh windows|macos|aarch64|msrv|smoke-windows|smoke-aarch64|all [deno test paths...]
#   all = windows macos aarch64 msrv (what .ci/platforms.sh runs); test paths go to
#   windows and aarch64 only, when one of them is the only check named.
set -uo pipefail
PLAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export NO_COLOR=1

what=${1:-}
shift || true
case $what in
  all) checks=(windows macos aarch64 msrv) ;;
  windows | macos | aarch64 | msrv | smoke-windows | smoke-aarch64) checks=("$what") ;;
  *)
    echo "usage: run.sh windows|macos|aarch64|msrv|smoke-windows|smoke-aarch64|all [deno test paths...]" >&2
    exit 2
    ;;
esac

# Each check appends "name<TAB>passed<TAB>failed<TAB>skipped" lines here (lib.sh `result`).
if [ -z "${PLATFORM_RESULTS:-}" ]; then
  PLATFORM_RESULTS=$(mktemp)
  trap 'rm -f "$PLATFORM_RESULTS"' EXIT
fi
export PLATFORM_RESULTS

script_of() {
  case $1 in
    windows) echo test_windows.sh ;;
    macos) echo check_macos.sh ;;
    aarch64) echo test_aarch64.sh ;;
    msrv) echo msrv.sh ;;
    smoke-windows | smoke-aarch64) echo smoke.sh ;;
  esac
}

status=0
t_all=$SECONDS
for name in "${checks[@]}"; do
  script=$(script_of "$name")
  args=()
  case $name in
    smoke-*) args=("${name#smoke-}") ;;
    windows | aarch64) [ ${#checks[@]} -gt 1 ] || args=("$@") ;;
  esac
  t0=$SECONDS
  before=$(wc -l <"$PLATFORM_RESULTS")
  echo "==> platform: $name"
  if ! bash "$PLAT_DIR/$script" "${args[@]}"; then
    status=1
    # A check that died before recording a failure still counts as one.
    if ! tail -n +$((before + 1)) "$PLATFORM_RESULTS" | awk -F'\t' '$3 > 0 {f=1} END {exit !f}'; then
      printf '%s\t0\t1\t0\n' "$name" >>"$PLATFORM_RESULTS"
    fi
  fi
  echo "<== platform: $name took $((SECONDS - t0))s"
done

[ ${#checks[@]} -eq 1 ] || echo "platforms took $((SECONDS - t_all))s"
# The failures again, last, where a reader of only the end of a CI log sees them.
awk -F'\t' '$3 > 0 {print $1}' "$PLATFORM_RESULTS" | while read -r failed; do
  echo "--- failed: $failed; the end of its log:"
  log_file="${MMAP_PLATFORM_CACHE:-$(cd "$PLAT_DIR/../.." && pwd)/.tools/platform}/logs/$failed.log"
  # (less the frames of Deno's own backtrace, which say "<unknown>" under wine)
  [ -f "$log_file" ] && grep -a -v -E '^ *[0-9]+: <unknown>$' "$log_file" | tail -n 8 | cut -c1-300 |
    sed -E 's/([0-9]+) (passed|failed|ignored|skipped)/\2: \1/g'
done
awk -F'\t' '{p += $2; f += $3; s += $4} END {printf "%d passed, %d failed, %d skipped\n", p, f, s}' \
  "$PLATFORM_RESULTS"
exit $status
