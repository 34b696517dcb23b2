#!/usr/bin/env bash
# Installs what kdgpu needs on Debian/Ubuntu, then the npm packages.
#   libegl-mesa0 libgl1-mesa-dri
#                         Mesa's EGL and llvmpipe: with no GPU, kdgpu runs on llvmpipe through Dawn's
#                         OpenGL ES backend (the faster CPU adapter)
#   libvulkan1            the Vulkan loader that Dawn (the `webgpu` package) uses
#   chromium              ships SwiftShader's Vulkan driver: the other CPU adapter (subgroups and
#                         timestamps, which llvmpipe lacks), and the browser the page tests drive
#   dataset-fashion-mnist the default dataset, in /usr/share/datasets/fashion-mnist/
#   xz-utils              xz, which compresses Node for the real-GPU check's bundle (npm run
#                         device-bundle: gzip would not fit its 36 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if [ "${KDGPU_SKIP_APT:-0}" != "1" ]; then
  $SUDO apt-get update
  $SUDO apt-get install -y libegl-mesa0 libgl1-mesa-dri libvulkan1 chromium dataset-fashion-mnist xz-utils
fi
npm ci --no-audit --no-fund
