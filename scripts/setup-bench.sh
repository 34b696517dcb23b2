#!/usr/bin/env bash
# What the benchmark peers need on Debian/Ubuntu, beyond scripts/setup.sh:
#   python3-torch         PyTorch on the CPU (bench/suite_torch.py, bench/*_torch.py)
#   libopenblas0-pthread  an optimized BLAS for it: Debian's torch links libblas.so.3, which is the
#                         reference BLAS (~6 GFLOP/s at 1024) unless this is installed; the suite
#                         prints which BLAS PyTorch ran on
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y python3-torch libopenblas0-pthread
