#!/bin/bash
# Type-check the native crate for both macOS targets (see check_target.sh for what that
# proves and what it does not). Usage: check_macos.sh [CRATE_ROOT]
source "$(dirname "$0")/lib.sh"
rc=0
for t in aarch64-apple-darwin x86_64-apple-darwin; do
  t0=$SECONDS
  if "$PLAT_DIR/check_target.sh" "$t" "$@"; then
    log "PASS check $t ($((SECONDS - t0))s)"
  else
    log "FAIL check $t"; rc=1
  fi
done
exit $rc
