#!/usr/bin/env bash
# kdgpu's real-GPU check: run.sh of the folder `npm run device-bundle` writes (this file is copied
# there). Needs nothing outside its folder but bash, coreutils, xz or python3, and a GPU driver:
# it unpacks Node, Dawn (dawn.node) and the Vulkan loader (libvulkan1's .deb) into a temporary
# folder, points the loader at NVIDIA's Vulkan driver where it is found, prints the adapter, runs
# the correctness subset and the bench (PyTorch CUDA through python3 where present), and writes
# report.md, report.json and run.log.
#
#   bash run.sh [--small] [--no-check] [--no-bench] [--python PATH|none] [OUT_DIR]
#
# OUT_DIR (or --out DIR): default $OUT, else ./device-report. --small: small sizes for a CPU
# adapter (llvmpipe, SwiftShader). KDGPU_DEVICE_TIMEOUT: seconds before the run is stopped
# (default 470; the reports written so far stay). KDGPU_ADAPTER forces an adapter, as in kdgpu.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUTDIR="${OUT:-$PWD/device-report}"
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --small | --no-check | --no-bench) ARGS+=("$1"); shift ;;
    --python) ARGS+=("$1" "$2"); shift 2 ;;
    --out) OUTDIR="$2"; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) OUTDIR="$1"; shift ;;
  esac
done
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kdgpu-device.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# file.xz or file.gz → stdout: xz/gzip where installed, else python3's lzma/gzip.
unpack() {
  case "$1" in
    *.xz)
      if command -v xz >/dev/null; then xz -dc "$1"
      elif command -v python3 >/dev/null; then python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
      else echo "run.sh: neither xz nor python3 is here to unpack $1" >&2; return 1; fi ;;
    *.gz)
      if command -v gzip >/dev/null; then gzip -dc "$1"
      else python3 -c 'import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi ;;
  esac
}
first() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done; return 1; }

mkdir -p "$WORK/bin" "$WORK/node_modules/webgpu/dist/linux-x64" "$WORK/vulkan"
# Node: the bundle's, else (node.xz left out to save room) the machine's own if it is 20 or newer.
NODE_PACK="$(first "$HERE"/node.xz "$HERE"/node.gz || true)"
if [ -n "$NODE_PACK" ]; then
  unpack "$NODE_PACK" >"$WORK/bin/node"
  chmod +x "$WORK/bin/node"
  NODE="$WORK/bin/node"
elif command -v node >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  NODE="$(command -v node)"
else
  echo "run.sh: the bundle has no node.xz and this machine has no Node.js 20 or newer" >&2
  exit 1
fi
unpack "$(first "$HERE"/dawn.node.xz "$HERE"/dawn.node.gz)" >"$WORK/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$HERE"/node_modules/webgpu/* "$WORK/node_modules/webgpu/"
cp "$HERE/kdgpu-device.mjs" "$WORK/"

# The Vulkan loader from libvulkan1's .deb: dpkg-deb, else ar + tar (data.tar.xz: with xz), else
# python3 reading the ar archive.
DEB="$(first "$HERE"/libvulkan1_*.deb)"
if command -v dpkg-deb >/dev/null; then
  dpkg-deb -x "$DEB" "$WORK/vulkan"
elif command -v ar >/dev/null && command -v xz >/dev/null; then
  (cd "$WORK/vulkan" && ar x "$DEB" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary)
else
  python3 - "$DEB" "$WORK/vulkan" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
pos = 8  # "!<arch>\n"
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
fi
VKLIB="$(dirname "$(first "$WORK"/vulkan/usr/lib/*/libvulkan.so.1 "$WORK"/vulkan/usr/lib/libvulkan.so.1)")"
export LD_LIBRARY_PATH="$VKLIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# NVIDIA's Vulkan driver: where the GPU machines mount it, else the loader's own search.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  ICD="$(first /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json || true)"
  if [ -n "$ICD" ]; then export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD"; fi
fi
EGL_VENDOR=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -e "$EGL_VENDOR" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$EGL_VENDOR"; fi

{
  echo "kdgpu device check: $(date -u '+%Y-%m-%d %H:%M:%S') UTC on $(uname -srm)"
  echo "bundle: $HERE; work: $WORK; reports: $OUTDIR"
  echo "node $("$NODE" --version) ($NODE); Vulkan loader: $VKLIB/libvulkan.so.1; VK_DRIVER_FILES=${VK_DRIVER_FILES:-(loader default)}"
  if command -v nvidia-smi >/dev/null; then nvidia-smi -L || true; fi
} | tee "$OUTDIR/run.log"

TIMEOUT=()
if command -v timeout >/dev/null; then TIMEOUT=(timeout -s INT -k 15 "${KDGPU_DEVICE_TIMEOUT:-470}"); fi
set +e
(cd "$HERE" && ${TIMEOUT[@]+"${TIMEOUT[@]}"} "$NODE" "$WORK/kdgpu-device.mjs" --out "$OUTDIR" ${ARGS[@]+"${ARGS[@]}"}) 2>&1 | tee -a "$OUTDIR/run.log"
rc=${PIPESTATUS[0]}
set -e
echo "run.sh: exit status $rc" | tee -a "$OUTDIR/run.log"
exit "$rc"
