#!/usr/bin/env bash
# The figures a GPU report needs, in one go, on a machine with a GPU: sgas adapters; sgas doctor
# (every adapter: golden cases, the tiny search, ops timed, the autotune's choices); the per-op bench
# of our WebGPU kernels beside TF.js WebGPU on the same adapter, profiled; and two epochs of the
# paper's search (sgas-cifar10) on CIFAR-shaped synthetic data, profiled. Everything is printed and
# kept in bench/results/gpu-<date>/ (doctor.json is the cross-vendor report to attach).
#
#   bash bench/gpu.sh                      # on a GPU: the full-size run
#
# Knobs (environment), for a smaller run or a machine without a GPU:
#   SGAS_GPU_ADAPTER       --adapter for every step (default: auto, a real GPU first)
#   SGAS_GPU_IMAGES        synthetic training images (default 50000, CIFAR-10's)
#   SGAS_GPU_SEARCH_FLAGS  more sgas search flags (e.g. "--batch-size 8")
#   SGAS_GPU_BENCH_FLAGS   more bench flags (default "--quick"; "" for every shape and op)
set -euo pipefail
cd "$(dirname "$0")/.."

adapter=()
[ -n "${SGAS_GPU_ADAPTER:-}" ] && adapter=(--adapter "$SGAS_GPU_ADAPTER")
images=${SGAS_GPU_IMAGES:-50000}
read -r -a search_flags <<< "${SGAS_GPU_SEARCH_FLAGS:-}"
read -r -a bench_flags <<< "${SGAS_GPU_BENCH_FLAGS---quick}"
out=bench/results/gpu-$(date +%Y-%m-%dT%H-%M-%S)
mkdir -p "$out"
started=$SECONDS

npm run -s build
sgas() { node dist/sgas.mjs "$@"; }
step() { echo; echo "== $* ($((SECONDS - started)) s so far)"; }

step "sgas adapters"
sgas adapters | tee "$out/adapters.txt"

step "sgas doctor"
sgas doctor "${adapter[@]}" --out "$out/doctor.json" | tee "$out/doctor.txt" || echo "gpu.sh: sgas doctor found problems (see above)"

step "per-op bench: ours on WebGPU beside TF.js WebGPU, profiled"
npm run -s bench -- --backends webgpu --peers webgpu --search none --profile --kernels auto "${adapter[@]}" "${bench_flags[@]}" 2>&1 | grep -v '^Warning: ' | tee "$out/bench.txt"

step "sgas search --preset sgas-cifar10, two epochs on $images synthetic CIFAR-10 images, profiled"
node bench/syntheticCifar.mjs "$out/cifar" "$images"
sgas search --preset sgas-cifar10 --data "$out/cifar" --out "$out/search" --stop-after 2 --profile --backend webgpu \
  "${adapter[@]}" "${search_flags[@]}" 2>&1 | tee "$out/search.txt"

step "figures"
node -e '
  const fs = require("fs"), out = process.argv[1];
  const doctor = JSON.parse(fs.readFileSync(out + "/doctor.json", "utf8"));
  for (const a of doctor.adapters) {
    const g = a.golden ? `golden ${a.golden.passed} passed, ${a.golden.failed} failed` : "golden not run";
    const s = a.search ? `tiny search ${a.search.seconds.toFixed(1)} s${a.search.sameAsWasm ? ", genotype = WebAssembly" : ", genotype DIFFERS"}` : "";
    const ops = a.ops.map((o) => `${o.op} ${o.forwardBackwardMs.toFixed(1)} ms`).join(", ");
    console.log(`adapter [${a.index}] ${a.name}: ${g}; ${s}; fwd+bwd ${ops}${a.error ? "; ERROR " + a.error : ""}`);
  }
  const epochs = fs.readFileSync(out + "/search/log.jsonl", "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.type === "epoch");
  for (const e of epochs) console.log(`sgas-cifar10 epoch ${e.epoch + 1}: ${e.seconds.toFixed(1)} s, batch ${e.batchSize}, train loss ${e.trainLoss.toFixed(3)}`);
  const profile = JSON.parse(fs.readFileSync(out + "/search/profile.json", "utf8"));
  const top = profile.kernels.slice(0, 5).map((k) => `${k.kernel} ${(100 * k.share).toFixed(0)}%`).join(", ");
  console.log(`search step: ${profile.stepMs.toFixed(1)} ms of kernels (${profile.method}), ${profile.dispatchesPerStep.toFixed(0)} dispatches, ${profile.submitsPerStep.toFixed(1)} submits; most time in ${top}`);
' "$out"
echo "gpu.sh: done in $((SECONDS - started)) s; everything is in $out"
