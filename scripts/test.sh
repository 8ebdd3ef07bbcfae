#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian's Chromium and ChromeDriver,
# for the report's browser test), builds optsurf and runs every test (release mode: burn's
# tensor code is slow unoptimised).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo apt-get install -y chromium chromium-driver
fi

cargo test --release
