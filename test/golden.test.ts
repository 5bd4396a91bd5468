// `npm run golden` over the golden files kept in the repo, and its exit codes on bad input.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createWebGpuBackend, type Backend } from '../runtime/index.ts';
import { goldenCommand } from '../src/cli/golden.ts';
import { gpu } from './helpers/gpu.ts';

const goldenDir = fileURLToPath(new URL('./golden', import.meta.url));

async function run(dir: string, backend?: Backend): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await goldenCommand(backend ?? (await gpu()), [dir], (line) => lines.push(line));
  return { code, lines };
}

const FILES = ['primitives_stride1', 'primitives_stride2', 'blocks', 'mixedop', 'edge_decision', 'network_weights', 'network_decided_weights'];

async function allPass(backend?: Backend, files = FILES): Promise<void> {
  const lines: string[] = [];
  for (const dir of files === FILES ? [goldenDir] : files.map((f) => join(goldenDir, `${f}.json`))) {
    const result = await run(dir, backend);
    assert.equal(result.code, 0, result.lines.filter((l) => l.includes('FAIL')).join('\n'));
    lines.push(...result.lines);
  }
  assert.deepEqual(lines.filter((l) => l.includes('FAIL')), []);
  for (const file of files) assert.ok(lines.some((l) => l.startsWith(`${file}.json`) && l.endsWith('PASS')), `no passing line for ${file}.json`);
  assert.match(lines.at(-1)!, /^golden: \d+ passed, 0 failed$/);
}

test('every golden case in the repo passes: primitives, blocks, mixedop, edge decisions, networks', () => allPass());

// Every kernel fits WebGPU compatibility mode's limits (as OpenGL ES devices have them), and the
// tiled variants pass too (kernelVariants.test.ts: they give the plain kernels' bits). On
// SwiftShader, whose barriers make the tiled kernels slow, the per-op cases, where every GEMM and
// depthwise-convolution shape of the ops is met; the networks compose those.
const TILED: Record<string, string[]> = { swiftshader: ['primitives_stride1', 'primitives_stride2', 'blocks', 'mixedop'], llvmpipe: FILES };
for (const [adapter, files] of Object.entries(TILED)) {
  test(`every golden case${files === FILES ? '' : ' of the ops'} passes on ${adapter} in compatibility mode at its default limits, on the tiled kernels`, async () => {
    const backend = await createWebGpuBackend({ adapter, featureLevel: 'compatibility', limits: 'default', kernels: 'tiled' });
    try {
      await allPass(backend, files);
    } finally {
      backend.destroy();
    }
  });
}

test('a case outside tolerance fails the run with exit code 1 and names it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-golden-'));
  try {
    const golden = JSON.parse(readFileSync(join(goldenDir, 'blocks.json'), 'utf8'));
    golden.cases = golden.cases.filter((c: { op: string }) => c.op === 'linear');
    golden.cases[0].outputs.y.data[3] += 0.01;
    writeFileSync(join(dir, 'blocks.json'), JSON.stringify(golden));
    const { code, lines } = await run(dir);
    assert.equal(code, 1);
    assert.ok(lines.some((l) => /blocks\.json\s+linear\s+outputs\.y .*FAIL/.test(l)), lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown kind or an unreadable file is a clear error (exit code 2 in the CLI)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-golden-'));
  try {
    writeFileSync(join(dir, 'weird.json'), JSON.stringify({ schema: 'sgas-golden-v1', kind: 'quantum' }));
    await assert.rejects(run(dir), (e: Error) => e.name === 'GoldenFileError' && /weird\.json: unknown kind 'quantum'/.test(e.message));
    writeFileSync(join(dir, 'weird.json'), '{ not json');
    await assert.rejects(run(dir), (e: Error) => e.name === 'GoldenFileError' && /weird\.json: not valid JSON/.test(e.message));
    await assert.rejects(run(join(dir, 'missing')), (e: Error) => e.name === 'GoldenFileError' && /cannot read/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a network set also runs from a folder that holds only that set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-golden-'));
  try {
    for (const part of ['weights', 'fwd_bwd', 'step']) cpSync(join(goldenDir, `network_decided_${part}.json`), join(dir, `network_decided_${part}.json`));
    const { code, lines } = await run(dir);
    assert.equal(code, 0, lines.filter((l) => l.includes('FAIL')).join('\n'));
    assert.ok(lines.filter((l) => l.includes('grads.')).length > 100, 'every weight gradient is checked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
