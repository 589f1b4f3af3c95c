#!/usr/bin/env bash
# Validates .github/workflows/*.yml against GitHub's workflow schema with
# action-validator (from npm, pinned, installed into .tools/). One check per
# file; ends with "N passed, N failed". (tests/loader_test.ts checks that the
# release matrix names the same targets as src/platform.ts.)
set -uo pipefail
cd "$(dirname "$0")/.."

VALIDATOR_VERSION=0.6.0
tools=.tools/action-validator
bin=$tools/node_modules/.bin/action-validator
if [ ! -x "$bin" ] ||
  ! grep -q "\"version\": \"$VALIDATOR_VERSION\"" "$tools/node_modules/@action-validator/cli/package.json" 2>/dev/null; then
  mkdir -p "$tools"
  (cd "$tools" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
    npm install --silent --no-audit --no-fund \
      "@action-validator/cli@$VALIDATOR_VERSION" "@action-validator/core@$VALIDATOR_VERSION") || {
    echo "could not install @action-validator/cli@$VALIDATOR_VERSION"
    echo "0 passed, 1 failed"
    exit 1
  }
fi

passed=0
failed=0
for file in .github/workflows/*.yml; do
  if out=$("$bin" "$file" 2>&1); then
    echo "ok   $file"
    passed=$((passed + 1))
  else
    echo "FAIL $file"
    echo "$out"
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
