#!/usr/bin/env bash
# Installs what a fresh Debian machine (root, no GPU) lacks: Chromium (its SwiftShader is the
# software Vulkan driver WebGPU runs on without a GPU, and the browser the page tests drive),
# the Vulkan loader, clang and lld 16 for the WebAssembly kernels, Redis (distributed sweeps' queue;
# the tests start their own), and the npm dependencies. Safe to run again: it skips what is there.
# `bash scripts/setup.sh --bench` also installs what `npm run bench -- --peers torch` compares
# against: Debian's PyTorch (python3-torch) with OpenBLAS (without it, PyTorch's matrix products
# fall back to the reference BLAS, 30× slower); about 150 MB to download, so CI does not take it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
[ -e /usr/lib/chromium/vk_swiftshader_icd.json ] || missing+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || missing+=(libvulkan1)
# The WebAssembly kernels (scripts/build-wasm.mjs): 16 is the first clang whose relaxed SIMD the engines take.
command -v clang-16 >/dev/null || missing+=(clang-16)
command -v wasm-ld-16 >/dev/null || missing+=(lld-16)
command -v redis-server >/dev/null || missing+=(redis-server)   # sgas sweep --redis, sgas worker (BullMQ)
if [ "${1:-}" = "--bench" ]; then
  /usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  [ -d /usr/lib/x86_64-linux-gnu/openblas-openmp ] || [ -d /usr/lib/aarch64-linux-gnu/openblas-openmp ] || missing+=(libopenblas0-openmp)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install. Nothing is downloaded but the registry's
# packages: onnxruntime-node (the tests' ONNX checker) has its CPU binaries inside the package, and
# its install script would fetch optional CUDA files; package.json's allowScripts denies that script
# to npm 11, and ONNXRUNTIME_NODE_INSTALL=skip tells it to do nothing where an older npm runs it.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.setup-lock; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.setup-lock
fi
