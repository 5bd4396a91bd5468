// Every golden case in the repo on the WebAssembly backend, in both of its builds (128-bit SIMD, and
// with relaxed SIMD's fused multiply-add): primitives, blocks, mixedop, edge decisions and whole
// networks (forward, backward and a search step), as test/golden.test.ts does on WebGPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../runtime/index.ts';
import { goldenCommand } from '../src/cli/golden.ts';

const goldenDir = fileURLToPath(new URL('./golden', import.meta.url));

for (const relaxedSimd of [false, true]) {
  test(`every golden case passes on the wasm backend, ${relaxedSimd ? 'relaxed' : 'plain'} SIMD build`, async () => {
    const backend = await createWasmBackend({ relaxedSimd });
    try {
      assert.equal(backend.kernelBuild.relaxed, relaxedSimd);
      const lines: string[] = [];
      const code = await goldenCommand(backend, [goldenDir], (line) => lines.push(line));
      assert.deepEqual(lines.filter((l) => l.includes('FAIL')), []);
      assert.equal(code, 0);
      for (const file of ['primitives_stride1', 'primitives_stride2', 'blocks', 'mixedop', 'edge_decision', 'network_weights', 'network_decided_weights']) {
        assert.ok(lines.some((l) => l.startsWith(`${file}.json`) && l.endsWith('PASS')), `no passing line for ${file}.json`);
      }
      assert.match(lines.at(-1)!, /^golden: \d+ passed, 0 failed$/);
    } finally {
      backend.destroy();
    }
  });
}
