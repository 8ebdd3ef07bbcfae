#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver (the report's browser test drives them) when they
# are missing; does nothing when both are there.
set -euo pipefail

if command -v chromedriver >/dev/null && command -v chromium >/dev/null; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update
$sudo apt-get install -y chromium chromium-driver
