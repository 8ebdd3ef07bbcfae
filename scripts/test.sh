#!/usr/bin/env bash
# The README's test command: builds optsurf and runs every test (release mode: burn's tensor
# code is slow unoptimised).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release
