// `sgas doctor --json`: the cross-vendor report, here for SwiftShader and llvmpipe, end to end
// through the CLI (the tiny search it also runs is crossAdapter.test.ts's; here it is left out).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DoctorReport } from '../src/cli/doctor.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

test('sgas doctor --json reports every adapter: golden errors per op and kernel family, op timings, the autotune', async () => {
  const golden = mkdtempSync(join(tmpdir(), 'sgas-doctor-'));
  try {
    cpSync(join(root, 'test', 'golden', 'blocks.json'), join(golden, 'blocks.json'));
    const { stdout, stderr } = await promisify(execFile)(process.execPath,
      ['--import', 'tsx', '--import', './scripts/wgsl-hook.mjs', 'src/cli/main.ts', 'doctor', '--json', '--no-search', '--golden', golden],
      { cwd: root, env: { ...process.env, SGAS_CACHE_DIR: golden } });
    assert.equal(stderr, '', 'nothing but the report');
    const report = JSON.parse(stdout) as DoctorReport;
    assert.equal(report.format, 'sgas-doctor-v1');
    assert.equal(report.ok, true);
    assert.deepEqual(report.adapters.map((a) => [a.backend, a.type]), [['vulkan', 'cpu'], ['opengles', 'cpu']]);
    for (const r of [report.wasm, ...report.adapters]) {
      assert.equal(r.error, undefined);
      assert.ok(r.golden!.passed > 20 && r.golden!.failed === 0);
      assert.deepEqual(Object.keys(r.golden!.ops).sort(), ['batchnorm', 'cross_entropy', 'factorized_reduce', 'global_avg_pool', 'linear', 'relu_conv_bn', 'softmax', 'stem']);
      for (const family of ['conv', 'matmul', 'batchnorm', 'softmax']) {
        const f = r.golden!.families[family]!;
        assert.ok(f.tensors > 0 && f.failed === 0 && f.maxAbs >= 0 && f.maxAbs < 1e-4, `${family}: ${JSON.stringify(f)}`);
      }
      assert.deepEqual(r.ops.map((o) => o.op), ['sep_conv_3x3', 'dil_conv_5x5', 'max_pool_3x3']);
      assert.ok(r.ops.every((o) => o.forwardMs > 0 && o.forwardBackwardMs > 0 && Number.isFinite(o.forwardBackwardMs)), JSON.stringify(r.ops));
      assert.equal(r.search, undefined);
    }
    for (const a of report.adapters) {
      assert.ok(a.kernels!.length >= 3 && a.kernels!.every((k) => ['plain', 'tiled'].includes(k.chosen) && k.ms.plain! > 0 && k.ms.tiled! > 0), JSON.stringify(a.kernels));
      assert.ok(a.limits.maxStorageBufferBindingSize! > 0 && a.features.length > 0);
    }
    assert.equal(report.wasm.kernels, undefined);
  } finally {
    rmSync(golden, { recursive: true, force: true });
  }
});
