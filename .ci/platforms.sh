#!/usr/bin/env bash
# Every platform this machine can build and exercise besides native Linux x86_64:
# Windows under wine, macOS type-checks, Linux aarch64 under qemu-user, and the crate's
# minimum Rust (1.63), through the one entry point scripts/platform/run.sh (see
# scripts/platform/README.md). Ends with "N passed, N failed, N skipped".
exec bash "$(dirname "$0")/../scripts/platform/run.sh" all
