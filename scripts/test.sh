#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian's Chromium and ChromeDriver,
# for the report's browser test, when missing), builds optsurf and runs every test (release
# mode: burn's tensor code is slow unoptimised).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-browser.sh
cargo test --release
