// The worker pool: kernels split between threads compute the same bits as on one thread, because
// work items never share an output and each sums in a fixed order (the plain build; the relaxed one
// repeats its bits at a given thread count).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { conv2d, createWasmBackend, GpuError, matmulRaw, mul, scale, sum, Tape, Tensor, type WasmBackend } from '../runtime/index.ts';
import { goldenCommand } from '../src/cli/golden.ts';
import type { SearchResult } from '../src/search/search.ts';
import { tinySearch } from './helpers/search.ts';

async function tinySearchOn(backend: WasmBackend): Promise<SearchResult> {
  try {
    return await tinySearch(backend, 5);
  } finally {
    backend.destroy();
  }
}

test('a tiny search gives the same bits on one thread and with every launch split over three', async () => {
  const single = await tinySearchOn(await createWasmBackend({ threads: 1, relaxedSimd: false }));
  const split = await createWasmBackend({ threads: 3, minParallelWork: 1, relaxedSimd: false });
  assert.equal(split.threads, 3);
  const threaded = await tinySearchOn(split);
  assert.deepEqual(threaded.genotype, single.genotype);
  assert.deepEqual(threaded.alphas, single.alphas);
});

// Fused multiply-adds round once where a vector loop's scalar tail rounds twice, so where a split
// moves values between the two, the last bits move: the relaxed build repeats itself at one thread count.
test('with relaxed SIMD, a tiny search gives the same bits every time at the same thread count', async () => {
  const run = async () => tinySearchOn(await createWasmBackend({ threads: 3, minParallelWork: 1, relaxedSimd: true }));
  const [first, second] = [await run(), await run()];
  assert.deepEqual(second.genotype, first.genotype);
  assert.deepEqual(second.alphas, first.alphas);
});

test('the relaxed build fuses its multiply-adds: a product differs from the plain build in the last bits, and repeats its own', async () => {
  const product = async (relaxedSimd: boolean) => {
    const backend = await createWasmBackend({ threads: 2, relaxedSimd });
    try {
      const values = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i) * 1.1);
      const a = Tensor.from(backend, values, [64, 64]);
      const runs = [await matmulRaw(a, a).read(), await matmulRaw(a, a).read()];
      assert.deepEqual(runs[1], runs[0]);
      return runs[0]!;
    } finally {
      backend.destroy();
    }
  };
  const [plain, fused] = [await product(false), await product(true)];
  assert.notDeepEqual(fused, plain);
  for (let i = 0; i < plain.length; i++) assert.ok(Math.abs(fused[i]! - plain[i]!) <= 1e-5 * (1 + Math.abs(plain[i]!)), `value ${i}`);
});

// A pointwise convolution's weight gradient over small planes is one GEMM with a small C and a long
// k: its columns are cut finer so that every thread has some, and each value still comes from the
// same tile in the same order.
test("a small weight gradient over a long k, cut between threads, gives the one-thread bits (plain and relaxed)", async () => {
  const gradient = async (threads: number, relaxedSimd: boolean) => {
    const backend = await createWasmBackend({ threads, relaxedSimd });
    try {
      const values = (n: number, phase: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase));
      const x = Tensor.from(backend, values(32 * 32 * 7 * 7, 0), [32, 32, 7, 7]);
      const w = Tensor.parameter(backend, values(32 * 32, 1), [32, 32, 1, 1], 'w');
      const dy = Tensor.from(backend, values(32 * 32 * 7 * 7, 2), [32, 32, 7, 7]);
      const tape = new Tape();
      tape.backward(tape.run(() => sum(mul(conv2d(x, w), dy))));
      const g = await w.grad!.read();
      tape.dispose();
      return g;
    } finally {
      backend.destroy();
    }
  };
  for (const relaxed of [false, true]) assert.deepEqual(await gradient(3, relaxed), await gradient(1, relaxed), relaxed ? 'relaxed' : 'plain');
});

test('every golden case passes with every launch split over three threads', async () => {
  const backend = await createWasmBackend({ threads: 3, minParallelWork: 1 });
  try {
    const lines: string[] = [];
    const code = await goldenCommand(backend, [fileURLToPath(new URL('./golden', import.meta.url))], (line) => lines.push(line));
    assert.deepEqual(lines.filter((l) => l.includes('FAIL')), []);
    assert.equal(code, 0);
  } finally {
    backend.destroy();
  }
});

test('a kernel that traps on the worker threads fails its launch, and the pool keeps working', async () => {
  const backend = await createWasmBackend({ threads: 3, minParallelWork: 1 });
  try {
    const out = Tensor.zeros(backend, [8]);
    // Rows of 2^28 floats run far past the end of memory on every thread.
    const rows = { kernel: 'reduce/sum_rows', inputs: [out.storage], outputs: [out.storage], u: [8, 2 ** 28, 0, 0, 2 ** 31], f: [1], threads: [8 * 256] as [number] };
    const x = Tensor.from(backend, [1, 2, 3], [3]);
    // Many times over: after a trap every thread goes back to work on the next launch, which the
    // caller may start at once; and a caller that trapped first must not sleep waiting for the
    // workers' trapped chunks (it did, and hung, about once in a few hundred rounds: a hang here is
    // a failure, which a test timer cannot catch, since the caller blocks the event loop).
    for (let round = 0; round < 1000; round++) {
      assert.throws(() => backend.run(rows), (e: Error) => e instanceof GpuError && /reduce\/sum_rows/.test(e.message));
      assert.deepEqual(Array.from(await scale(x, 2).read()), [2, 4, 6]);
    }
  } finally {
    backend.destroy();
  }
});
