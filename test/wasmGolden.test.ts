// Every golden case in the repo on the WebAssembly backend: primitives, blocks, mixedop, edge
// decisions and whole networks (forward, backward and a search step), as test/golden.test.ts does on WebGPU.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../runtime/index.ts';
import { goldenCommand } from '../src/cli/golden.ts';

const goldenDir = fileURLToPath(new URL('./golden', import.meta.url));
const backend = createWasmBackend();
after(async () => (await backend).destroy());

test('every golden case passes on the wasm backend', async () => {
  const lines: string[] = [];
  const code = await goldenCommand(await backend, [goldenDir], (line) => lines.push(line));
  assert.deepEqual(lines.filter((l) => l.includes('FAIL')), []);
  assert.equal(code, 0);
  for (const file of ['primitives_stride1', 'primitives_stride2', 'blocks', 'mixedop', 'edge_decision', 'network_weights', 'network_decided_weights']) {
    assert.ok(lines.some((l) => l.startsWith(`${file}.json`) && l.endsWith('PASS')), `no passing line for ${file}.json`);
  }
  assert.match(lines.at(-1)!, /^golden: \d+ passed, 0 failed$/);
});
