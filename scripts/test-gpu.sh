#!/usr/bin/env bash
# The GPU path's tests: optsurf built with the `wgpu` feature and its library tests run, the
# GPU ones (experiment/fused/gpu.rs, the study on the GPU) included, on the machine's GPU or,
# where it has no Vulkan driver, on Mesa's software one (lavapipe), installed here from Debian.
# Not part of `scripts/test.sh`: the GPU build adds wgpu and CubeCL (about as long again as the
# first build); every test run checks the shaders themselves with naga, GPU or not.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo apt-get install -y mesa-vulkan-drivers libvulkan1
fi
cargo test --release --features wgpu --lib
