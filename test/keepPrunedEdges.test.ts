// --keep-pruned-edges: a node's pruned edges stay in the search network as mixed edges, their
// alphas frozen and their weights training; the step's memory counts them; a search with it runs
// to its end and resumes to the same result; the flag, and configs kept before it existed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend, crossEntropy, Tape, Tensor, type Backend } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { searchOverrides } from '../src/cli/search.ts';
import { presetConfig, storedSearchConfig, type SearchConfig } from '../src/search/config.ts';
import { Network } from '../src/search/model.ts';
import { prepareSearchData, Search } from '../src/search/search.ts';
import { searchStepPeakBytes } from '../src/search/step.ts';
import { straightSearch, embeddedTrain as train } from './helpers/search.ts';

// Node 1 (edges 2–4) has edges 2 and 3 decided; its edge 4 is pruned (0) or still mixed (−1).
const decided = (edge4: number) => [4, -1, 5, 6, edge4];
const PRUNED_ALPHA = 'alphas_normal.4';

interface Gradients {
  loss: number;
  grads: Map<string, Float32Array>;
}

async function stepOn(backend: Backend, edge4: number, keepPrunedEdges: boolean): Promise<Gradients> {
  const net = new Network(backend, { C: 3, layers: 3, classes: 10, inputChannels: 1, stemMultiplier: 3 }, new Rng(5));
  net.keepPrunedEdges = keepPrunedEdges;
  net.selection.normal.splice(0, 5, ...decided(edge4));
  net.setRequiresGrad(true, true);
  const data = new Rng(6);
  const x = Tensor.from(backend, Float32Array.from({ length: 6 * 12 * 12 }, () => data.normal()), [6, 1, 12, 12]);
  const labels = Tensor.from(backend, [1, 7, 3, 3, 0, 9], [6]);
  const tape = new Tape();
  const loss = tape.run(() => crossEntropy(net.forward(x), labels));
  tape.backward(loss);
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of [...net.namedParameters(), ...net.alphaParameters().map((a): [string, Tensor] => [a.name, a])]) {
    if (p.grad) grads.set(name, await p.grad.read());
  }
  const out = { loss: await loss.item(), grads };
  tape.dispose();
  for (const t of [x, labels]) t.release();
  net.release();
  return out;
}

test('a kept pruned edge computes as a mixed edge whose alpha is frozen; a dropped one leaves the network', async () => {
  const backend = await createWasmBackend();
  try {
    const kept = await stepOn(backend, 0, true);
    const mixed = await stepOn(backend, -1, false);
    const dropped = await stepOn(backend, 0, false);
    assert.equal(kept.loss, mixed.loss, 'the kept pruned edge adds what the mixed edge adds');
    assert.ok(mixed.grads.has(PRUNED_ALPHA) && !kept.grads.has(PRUNED_ALPHA), "the pruned edge's alpha gets no gradient");
    assert.deepEqual([...kept.grads.keys()], [...mixed.grads.keys()].filter((n) => n !== PRUNED_ALPHA));
    for (const [name, g] of kept.grads) assert.deepEqual(g, mixed.grads.get(name), `gradient of ${name}`);

    // Layers 3: cell 0 is the one normal cell.
    const edgeWeights = [...kept.grads.keys()].filter((n) => /^cell0\.edge4\./.test(n));
    assert.ok(edgeWeights.length > 0, "the kept edge's convolutions train");
    assert.ok(edgeWeights.every((n) => !dropped.grads.has(n)), 'a pruned edge that is not kept trains nothing');
    assert.notEqual(dropped.loss, kept.loss);
  } finally {
    backend.destroy();
  }
});

test("the step's memory counts the kept pruned edges", async () => {
  const config = presetConfig('cpu');
  const selection = { normal: [...decided(0), ...new Array(9).fill(-1)], reduce: new Array(14).fill(-1) };
  const shape = { network: { C: 8, layers: 5, classes: 10, inputChannels: 1, stemMultiplier: 3 }, side: 16, batchSize: 32, selection, recomputeCells: false };
  const without = await searchStepPeakBytes(config, shape);
  const withKept = await searchStepPeakBytes({ ...config, keepPrunedEdges: true }, shape);
  const undecided = await searchStepPeakBytes(config, { ...shape, selection: { ...selection, normal: [...decided(-1), ...new Array(9).fill(-1)] } });
  assert.ok(withKept > without, `kept ${withKept} B, pruned ${without} B`);
  // The same tensors as the undecided edge, less its alpha's gradient and Adam state.
  assert.ok(withKept <= undecided && undecided - withKept < 1024, `kept ${withKept} B, undecided ${undecided} B`);
});

test('a search keeping its pruned edges runs to its end, resumes to the same result, and differs from one without', async () => {
  const config: SearchConfig = { ...presetConfig('tiny'), batchSize: 4, seed: 3, keepPrunedEdges: true };
  const backend = await createWasmBackend();
  const data = prepareSearchData(train, config);
  try {
    const reference = await straightSearch(backend, config, data);
    for (const type of ['normal', 'reduce'] as const) assert.equal(reference.genotype[type].length, 8, `${type}: two edges per node`);
    const first = new Search(backend, config, data);
    assert.equal(await first.run({ step: (s) => void (s.epoch === 5 && s.step === 3 && first.requestStop()) }), null);
    const saved = await first.checkpoint();
    first.release();
    const resumed = Search.fromCheckpoint(backend, saved, train, 'memory');
    assert.equal(resumed.config.keepPrunedEdges, true);
    const result = (await resumed.run())!;
    resumed.release();
    assert.deepEqual(result.alphas, reference.alphas);
    assert.deepEqual(result.genotype, reference.genotype);

    const without = await straightSearch(backend, { ...config, keepPrunedEdges: false }, data);
    assert.notDeepEqual(without.alphas, reference.alphas, 'keeping pruned edges changed nothing');
  } finally {
    backend.destroy();
  }
});

test('--keep-pruned-edges sets it; a config kept before it existed reads it as off', () => {
  assert.deepEqual(searchOverrides('--keep-pruned-edges'), { keepPrunedEdges: true });
  const { keepPrunedEdges: _, ...old } = presetConfig('cpu');
  assert.equal(storedSearchConfig(old as SearchConfig).keepPrunedEdges, false);
});
