// Failures surface as exceptions that name the kernel or op, never as silent garbage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { add, createWebGpuBackend, GpuError, linear, matmul, ShapeError, Tensor } from '../runtime/index.ts';
import { registerShader } from '../runtime/shaders.ts';
import { gpu } from './helpers/gpu.ts';

test('a WGSL compile error names the kernel family and the line', async () => {
  registerShader('broken_test', `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x: f32 = gid.x;
  out[gid.x] = x;
}`);
  const backend = await createWebGpuBackend();
  try {
    const out = Tensor.empty(backend, [4]);
    backend.run({ kernel: 'broken_test/main', inputs: [], outputs: [out.storage], u: [4], threads: [4] });
    await assert.rejects(backend.sync(), (e: Error) => {
      assert.ok(e instanceof GpuError, `expected a GpuError, got ${e}`);
      assert.match(e.message, /broken_test/);
      assert.match(e.message, /line 6/);
      return true;
    });
  } finally {
    backend.destroy();
  }
});

test('an unknown kernel entry is named', async () => {
  const backend = await gpu();
  const out = Tensor.empty(backend, [4]);
  assert.throws(() => backend.run({ kernel: 'elementwise/no_such_entry', inputs: [], outputs: [out.storage], threads: [4] }), /no_such_entry/);
  out.release();
});

test('shape mismatches name the op and both shapes', async () => {
  const backend = await gpu();
  const a = Tensor.zeros(backend, [2, 3]);
  const b = Tensor.zeros(backend, [3, 2]);
  assert.throws(() => add(a, b), (e: Error) => e instanceof ShapeError && /^add: /.test(e.message) && /\[2, 3\]/.test(e.message) && /\[3, 2\]/.test(e.message));
  assert.throws(() => matmul(a, a), (e: Error) => e instanceof ShapeError && /^matmul: /.test(e.message));
  assert.throws(() => linear(a, Tensor.zeros(backend, [4, 5])), (e: Error) => e instanceof ShapeError && /^linear: /.test(e.message));
  assert.throws(() => Tensor.from(backend, [1, 2, 3], [2, 2]), ShapeError);
});

test('using a released buffer is an error, not a read of recycled memory', async () => {
  const backend = await gpu();
  const a = Tensor.zeros(backend, [8]);
  a.release();
  await assert.rejects(a.read(), /released/);
});
