// Memory of a step: the tape releases spent gradients during the backward, recomputed cells (of
// the search network and of the evaluation network, drop path included) give the same gradients
// and running statistics as kept ones, 'auto' recomputes only where a step would not fit, and the
// wasm heap reuses freed space when sizes change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { add, crossEntropy, GpuError, scale, Tape, Tensor, type Backend } from '../runtime/index.ts';
import { CountingBackend } from '../runtime/countingBackend.ts';
import { Rng } from '../runtime/rng.ts';
import { Heap } from '../runtime/wasm/heap.ts';
import { trainPresetConfig } from '../src/eval/config.ts';
import { EvalNetwork } from '../src/eval/model.ts';
import { trainStepPeakBytes } from '../src/eval/step.ts';
import { presetConfig } from '../src/search/config.ts';
import { genotypeByName } from '../src/search/genotypes.ts';
import { Network } from '../src/search/model.ts';
import { prepareSearchData, Search } from '../src/search/search.ts';
import { planSearchMemory as planMemory, searchStepPeakBytes } from '../src/search/step.ts';
import { describePlan, withMemoryHint } from '../src/train/memory.ts';
import { assertClose, gpu } from './helpers/gpu.ts';
import { embeddedTrain } from './helpers/search.ts';

test('the backward of a chain holds one gradient at a time, not one per op', () => {
  const backend = new CountingBackend();
  const x = Tensor.parameter(backend, new Float32Array(1000), [1000], 'x');
  const tape = new Tape();
  const ops = 50;
  const y = tape.run(() => Array.from({ length: ops }).reduce<Tensor>((t) => scale(t, 1.01), x));
  const afterForward = backend.liveBytes;
  backend.resetPeak();
  tape.backward(y);
  // The seed, one gradient in flight and the parameter's gradient: a few buffers, not `ops` more.
  assert.ok(backend.peakBytes - afterForward <= 3 * 4000, `backward peak ${backend.peakBytes - afterForward} B over the forward's`);
  assert.ok(x.grad, 'the gradient reached the parameter');
  tape.dispose();
  x.grad.release();
  x.release();
  assert.equal(backend.liveBytes, 0, 'nothing is left after dispose');
});

interface StepOutcome {
  loss: number;
  names: string[];
  grads: Float32Array[];
  buffers: Float32Array[];
}

/** Backward from `loss`, then everything a step leaves: the loss, each parameter's gradient, BN's running statistics. */
async function outcome(tape: Tape, loss: Tensor, params: [string, Tensor][], buffers: Tensor[]): Promise<StepOutcome> {
  tape.backward(loss);
  const reached = params.filter(([, p]) => p.grad);
  const out = {
    loss: await loss.item(),
    names: reached.map(([n]) => n),
    grads: await Promise.all(reached.map(([, p]) => p.grad!.read())),
    buffers: await Promise.all(buffers.map((t) => t.read())),
  };
  tape.dispose();
  return out;
}

function assertSameStep(recomputed: StepOutcome, kept: StepOutcome): void {
  assert.equal(recomputed.loss, kept.loss);
  assert.deepEqual(recomputed.names, kept.names, 'the same parameters get gradients');
  // Bit for bit inside the cells; the stem's output feeds three cell inputs, whose gradients the
  // recomputed graph adds in another order, so its own gradients may differ in the last bits.
  kept.grads.forEach((g, i) => {
    const name = kept.names[i]!;
    if (name.startsWith('stem.')) assertClose(recomputed.grads[i]!, g, `gradient of ${name}`, 1e-7, 1e-5);
    else assert.deepEqual(recomputed.grads[i], g, `gradient of ${name}`);
  });
  // A second forward that updated BatchNorm's running statistics again would move them further.
  kept.buffers.forEach((b, i) => assert.deepEqual(recomputed.buffers[i], b, `buffer ${i}`));
}

function inputs(backend: Backend) {
  const data = new Rng(6);
  const x = Tensor.from(backend, Float32Array.from({ length: 6 * 12 * 12 }, () => data.normal()), [6, 1, 12, 12]);
  return { x, labels: Tensor.from(backend, [1, 7, 3, 3, 0, 9], [6]) };
}

async function searchStepOn(backend: Backend, recomputeCells: boolean, dropRng: Rng | null = null): Promise<StepOutcome> {
  const net = new Network(backend, { C: 3, layers: 3, classes: 10, inputChannels: 1, stemMultiplier: 3 }, new Rng(5));
  net.recomputeCells = recomputeCells;
  net.paramFreeDrop = dropRng && { keep: 0.5, rng: dropRng };
  // Some edges decided and some pruned, so the cells' weights list has holes.
  net.selection.normal.splice(0, 3, 4, 0, -1);
  net.selection.reduce.splice(5, 2, 1, 0);
  net.setRequiresGrad(true, true);
  const { x, labels } = inputs(backend);
  const tape = new Tape();
  const loss = tape.run(() => crossEntropy(net.forward(x), labels));
  const alphas = net.alphaParameters().map((a): [string, Tensor] => [a.name, a]);
  const out = await outcome(tape, loss, [...net.namedParameters(), ...alphas], net.namedBuffers().map(([, t]) => t));
  for (const t of [x, labels]) t.release();
  net.release();
  return out;
}

test('recomputed cells give the same loss, gradients and running statistics', async () => {
  const backend = await gpu();
  const kept = await searchStepOn(backend, false);
  assert.ok(kept.names.some((n) => n.startsWith('alphas_')) && kept.names.some((n) => n.startsWith('cell1.')), 'alphas and cell weights get gradients');
  assertSameStep(await searchStepOn(backend, true), kept);
});

test('recomputed search cells drop the same samples of the parameter-free ops', async () => {
  const backend = await gpu();
  const [keptRng, recomputedRng] = [new Rng(9), new Rng(9)];
  const kept = await searchStepOn(backend, false, keptRng);
  const recomputed = await searchStepOn(backend, true, recomputedRng);
  assert.deepEqual(recomputedRng.state(), keptRng.state(), "the generator moved on by the first forward's draws only");
  assertSameStep(recomputed, kept);
  assert.notEqual(kept.loss, (await searchStepOn(backend, false)).loss, 'dropping changed nothing');
});

async function evalStepOn(backend: Backend, recomputeCells: boolean): Promise<StepOutcome & { rng: number[] }> {
  const net = new EvalNetwork(backend, { C: 4, layers: 3, classes: 10, inputChannels: 1, auxiliary: true, auxiliaryScaled: true }, genotypeByName('Cri2_CIFAR_Best'), new Rng(7));
  net.recomputeCells = recomputeCells;
  const { x, labels } = inputs(backend);
  const drop = { keep: 0.6, rng: new Rng(9) };
  const tape = new Tape();
  const loss = tape.run(() => {
    const out = net.forward(x, drop);
    return add(crossEntropy(out.logits, labels), scale(crossEntropy(out.auxLogits!, labels), 0.4));
  });
  const out = await outcome(tape, loss, net.namedParameters(), net.namedBuffers().map(([, t]) => t));
  for (const t of [x, labels]) t.release();
  net.release();
  return { ...out, rng: drop.rng.state() };
}

test('recomputed evaluation cells drop the same paths and give the same gradients', async () => {
  const backend = await gpu();
  const kept = await evalStepOn(backend, false);
  const recomputed = await evalStepOn(backend, true);
  assert.deepEqual(recomputed.rng, kept.rng, "the generator moved on by the first forward's draws only");
  assertSameStep(recomputed, kept);
});

test("the paper's evaluation training does not fit the wasm heap as it is, and fits with recomputed cells", async () => {
  const config = trainPresetConfig('sgas-cifar10');
  const network = { C: 36, layers: 20, classes: 10, inputChannels: 3, auxiliary: true, auxiliaryScaled: true };
  const genotype = genotypeByName('Cri2_CIFAR_Best');
  const kept = await trainStepPeakBytes(config, network, genotype, 32, false, Heap.sizeClass);
  const recomputed = await trainStepPeakBytes(config, network, genotype, 32, true, Heap.sizeClass);
  assert.ok(kept > 4 * 2 ** 30, `kept: ${kept} B`);
  assert.ok(recomputed < 0.8 * 4 * 2 ** 30, `recomputed: ${recomputed} B`);
});

test('recomputing cells cuts a CIFAR-shape step to a fraction of its memory', async () => {
  const config = presetConfig('sgas-cifar10');
  const shape = { network: { C: 16, layers: 8, classes: 10, inputChannels: 3, stemMultiplier: 3 }, side: 32, batchSize: 16 };
  const kept = await searchStepPeakBytes(config, { ...shape, recomputeCells: false }, Heap.sizeClass);
  const recomputed = await searchStepPeakBytes(config, { ...shape, recomputeCells: true }, Heap.sizeClass);
  // 1.77 GiB before BatchNorm kept its output, ReLU went into the convolutions and SepConv's and
  // DilConv's depthwise outputs were computed again for their pointwise gradients.
  assert.ok(kept > 0.5 * 2 ** 30 && kept < 0.8 * 2 ** 30, `kept: ${kept} B`);
  assert.ok(recomputed < kept / 3, `recomputed ${recomputed} B against kept ${kept} B`);
});

test("'auto' keeps the most depthwise outputs that fit, and recomputes exactly where the lean step would not fit", async () => {
  const config = presetConfig('tiny');
  const shape = { network: { C: 4, layers: 3, classes: 10, inputChannels: 1, stemMultiplier: 3 }, side: 8, batchSize: 16 };
  const need = await searchStepPeakBytes(config, { ...shape, recomputeCells: false });
  const wide = await searchStepPeakBytes(config, { ...shape, recomputeCells: false, keepInnerFromKernel: 5 });
  const keeping = await searchStepPeakBytes(config, { ...shape, recomputeCells: false, keepInnerFromKernel: 3 });
  assert.ok(keeping > wide && wide > need, `keeping all ${keeping} B, the 5×5 ones ${wide} B, none ${need} B`);
  const withCapacity = (bytes: number) => Object.assign(new CountingBackend(), { capacity: { bytes, sizeClass: (b: number) => b } });
  const plan = (bytes: number) => planMemory('auto', config, shape, withCapacity(bytes));
  assert.deepEqual(await plan(keeping / 0.8 + 8), { recomputeCells: false, keepInnerFromKernel: 3, needBytes: keeping, capacityBytes: keeping / 0.8 + 8 });
  assert.deepEqual(await plan(keeping / 0.8 - 8), { recomputeCells: false, keepInnerFromKernel: 5, needBytes: wide, capacityBytes: keeping / 0.8 - 8 });
  const lean = await plan(wide / 0.8 - 8);
  assert.deepEqual([lean.recomputeCells, lean.keepInnerFromKernel, lean.needBytes], [false, Infinity, need]);
  assert.match(describePlan(lean)!, /the depthwise outputs of every kernel are computed again/);
  assert.match(describePlan((await plan(wide / 0.8 + 8)))!, /kernels narrower than 5×5 are computed again/);
  const tight = await plan(need);
  assert.equal(tight.recomputeCells, true);
  assert.equal(tight.keepInnerFromKernel, Infinity);
  assert.equal(tight.needBytes, need);
  assert.equal((await planMemory('off', config, shape, withCapacity(need))).recomputeCells, false);
  assert.equal((await planMemory('cells', config, shape, new CountingBackend())).recomputeCells, true);
  assert.equal((await planMemory('auto', config, shape, new CountingBackend())).recomputeCells, false, 'a backend that does not tell its capacity');
});

test('a search that recomputes cells finds the same genotype, and alphas to rounding, as one that keeps them', async () => {
  const backend = await gpu();
  const run = async (recompute: 'cells' | 'off') => {
    const config = { ...presetConfig('tiny'), seed: 3, recompute };
    const search = new Search(backend, config, prepareSearchData(embeddedTrain, config));
    try {
      const result = (await search.run())!;
      assert.ok(search.records.every((r) => r.recomputeCells === (recompute === 'cells')), 'each epoch logs its mode');
      return result;
    } finally {
      search.release();
    }
  };
  const kept = await run('off');
  const recomputed = await run('cells');
  assert.deepEqual(recomputed.genotype, kept.genotype);
  for (const type of ['normal', 'reduce'] as const) {
    assertClose(recomputed.alphas[type].flat(), kept.alphas[type].flat(), `${type} softmax(α)`, 1e-7, 1e-5);
  }
});

test('an out-of-memory error says what to change, and other errors pass through', () => {
  const oom = new GpuError('wasm: out of memory growing the heap to 4200 MiB (3900 MiB live; the limit is 4096 MiB)');
  const hinted = withMemoryHint(oom, false) as Error;
  assert.match(hinted.message, /^wasm: out of memory .*; pass --recompute cells .* or lower --batch-size$/);
  assert.equal(hinted.name, oom.name);
  assert.match((withMemoryHint(new Error('WebGPU error: Out of memory'), true) as Error).message, /Out of memory; lower --batch-size$/);
  const other = new Error('the loss became NaN');
  assert.equal(withMemoryHint(other, false), other);
});

test('the wasm heap merges freed blocks so a step of new sizes reuses the old step\'s space', () => {
  const PAGE = 65536;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
  const heap = new Heap(memory, 1024, 64 * PAGE);
  const take = (sizes: number[]) => sizes.map((s) => heap.acquire(s));
  const give = (blocks: { offset: number; bytes: number }[]) => blocks.forEach((b) => heap.release(b.offset, b.bytes));
  // A "step" of many 40 KiB buffers, then one of 46 KiB buffers (another size class), repeatedly:
  // without merging each new size would stack on top of the last and outgrow the 4 MiB limit.
  for (let round = 0; round < 6; round++) {
    const size = (round % 2 ? 46 : 40) * 1024;
    const blocks = take(Array.from({ length: 60 }, () => size));
    const ends = blocks.map((b) => b.offset + b.bytes);
    assert.ok(Math.max(...ends) <= memory.buffer.byteLength);
    for (let i = 0; i < blocks.length; i++) {
      for (let j = i + 1; j < blocks.length; j++) {
        assert.ok(blocks[i]!.offset >= ends[j]! || blocks[j]!.offset >= ends[i]!, `blocks ${i} and ${j} overlap`);
      }
    }
    give(blocks);
  }
  assert.ok(memory.buffer.byteLength <= 64 * PAGE);
  assert.equal(heap.liveBytes, 0);
  assert.throws(() => heap.acquire(80 * PAGE), /out of memory.*limit is/);
});

test('the wasm heap grows rather than merging while it stays within twice its live peak: each size keeps its blocks', () => {
  const PAGE = 65536;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 256 });
  const heap = new Heap(memory, 1024, 256 * PAGE);
  // A step's parts ask for different sizes at different times; merging on every miss would hand each
  // part blocks split out of the other's, round after round.
  const part = (size: number) => {
    const blocks = Array.from({ length: 20 }, () => heap.acquire(size));
    blocks.forEach((b) => heap.release(b.offset, b.bytes));
    return blocks.map((b) => b.offset).sort((x, y) => x - y);
  };
  const first = [part(40 * 1024), part(46 * 1024)];
  for (let round = 0; round < 3; round++) assert.deepEqual([part(40 * 1024), part(46 * 1024)], first);
  const peak = 20 * Heap.sizeClass(46 * 1024);
  assert.ok(memory.buffer.byteLength <= 2 * peak + 1024 + PAGE, `${memory.buffer.byteLength} B committed for a peak of ${peak} B`);
});
