#!/usr/bin/env bash
# Every platform this machine can build and exercise besides native Linux x86_64:
# Windows under wine, macOS type-checks, Linux aarch64 under qemu-user, and the crate's
# minimum Rust (1.63). Installs what it needs from apt and npm, idempotently.
# Logs: .tools/platform/logs/. Ends with "N passed, N failed, N skipped" (known
# failures of the Windows suite count as skipped; see scripts/platform/*.tsv).
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
PLATFORM_RESULTS=$(mktemp)
export PLATFORM_RESULTS
trap 'rm -f "$PLATFORM_RESULTS"' EXIT
status=0
t_all=$SECONDS

for script in test_windows.sh check_macos.sh test_aarch64.sh msrv.sh; do
  t0=$SECONDS
  before=$(wc -l <"$PLATFORM_RESULTS")
  echo "==> platform: $script"
  if ! bash "scripts/platform/$script"; then
    status=1
    # A script that died before recording a failure still counts as one.
    if ! tail -n +$((before + 1)) "$PLATFORM_RESULTS" | awk -F'\t' '$3 > 0 {f=1} END {exit !f}'; then
      printf '%s\t0\t1\t0\n' "$script" >>"$PLATFORM_RESULTS"
    fi
  fi
  echo "<== platform: $script took $((SECONDS - t0))s"
done

echo "platforms took $((SECONDS - t_all))s"
awk -F'\t' '{p += $2; f += $3; s += $4} END {printf "%d passed, %d failed, %d skipped\n", p, f, s}' \
  "$PLATFORM_RESULTS"
exit $status
