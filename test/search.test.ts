// A whole seeded SGAS search (tiny preset): it ends with a complete genotype, runs the same
// twice, resumes from a mid-way checkpoint to exactly the same result, and stops on NaN.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend } from '../runtime/index.ts';
import { presetConfig } from '../src/search/config.ts';
import { edgeRange, STEPS } from '../src/search/space.ts';
import { prepareSearchData, Search, SearchDivergedError, type SearchResult } from '../src/search/search.ts';
import { gpu } from './helpers/gpu.ts';
import { embeddedTrain as train, tinySearch } from './helpers/search.ts';


const searches = new Map<number, Promise<SearchResult>>();

/** A complete tiny search per seed, run once per file. */
function fullSearch(seed: number): Promise<SearchResult> {
  if (!searches.has(seed)) searches.set(seed, runSearch(seed));
  return searches.get(seed)!;
}

async function runSearch(seed: number): Promise<SearchResult> {
  return tinySearch(await gpu(), seed);
}

test('a tiny seeded search ends with two inputs per node in both cells, and resumes exactly', async () => {
  const reference = await fullSearch(7);
  for (const gene of [reference.genotype.normal, reference.genotype.reduce]) {
    assert.equal(gene.length, 2 * STEPS);
    for (let node = 0; node < STEPS; node++) {
      const inputs = gene.slice(2 * node, 2 * node + 2).map(([, j]) => j);
      assert.notEqual(inputs[0], inputs[1], `node ${node} takes the same input twice`);
      for (const j of inputs) assert.ok(j >= 0 && j < node + 2, `node ${node} input ${j} out of range`);
      assert.equal(edgeRange(node).end - edgeRange(node).start, node + 2);
    }
  }

  // Stop after epoch 4, keep the checkpoint bytes, resume in a fresh Search.
  const config = { ...presetConfig('tiny'), seed: 7 };
  const backend = await gpu();
  const first = new Search(backend, config, prepareSearchData(train, config));
  let saved: Uint8Array | null = null;
  await first.run({
    checkpoint: (bytes, epoch) => {
      saved = bytes;
      if (epoch === 3) first.requestStop();
    },
  });
  assert.equal(first.epoch, 4);
  first.release();
  const resumed = Search.fromCheckpoint(backend, saved!, train, 'memory');
  assert.equal(resumed.epoch, 4);
  const result = (await resumed.run())!;
  resumed.release();
  assert.deepEqual(result.genotype, reference.genotype);
  for (const type of ['normal', 'reduce'] as const) {
    assert.deepEqual(result.alphas[type], reference.alphas[type], `${type} alphas differ after resuming`);
  }
});

test('a search stopped after any step, mid-epoch, continues to the uninterrupted result, in memory and from its checkpoint', async () => {
  // Four steps per epoch, so stops fall between steps of an epoch; WebAssembly, where this is quick.
  const config = { ...presetConfig('tiny'), batchSize: 4, seed: 11 };
  const backend = await createWasmBackend();
  const data = prepareSearchData(train, config);
  try {
    const straight = new Search(backend, config, data);
    const reference = (await straight.run())!;
    straight.release();

    // Stops after step 2 of epoch 1 (continued in memory), after step 3 of epoch 4 (continued from
    // the checkpoint in a new Search), and after the last step of epoch 6 (validation still to come).
    const stops = new Set(['0 2', '3 3', '5 4']);
    const seen: string[] = [];
    let search = new Search(backend, config, data);
    const observer = {
      step: (s: { epoch: number; step: number }) => {
        seen.push(`${s.epoch} ${s.step}`);
        if (stops.has(`${s.epoch} ${s.step}`)) search.requestStop();
      },
    };
    let result = await search.run(observer);
    assert.equal(result, null);
    assert.deepEqual(search.stoppedAt && [search.stoppedAt.epoch, search.stoppedAt.step, search.stoppedAt.steps], [0, 2, 4]);
    assert.equal(await search.run(observer), null, 'continued in memory to the next stop');
    const bytes = await search.checkpoint();
    search.release();
    search = Search.fromCheckpoint(backend, bytes, train, 'memory');
    assert.deepEqual(search.stoppedAt && [search.stoppedAt.epoch, search.stoppedAt.step], [3, 3]);
    assert.equal(search.epoch, 3);
    assert.equal(await search.run(observer), null);
    assert.deepEqual(search.stoppedAt && [search.stoppedAt.epoch, search.stoppedAt.step], [5, 4]);
    result = await search.run(observer);
    assert.equal(new Set(seen).size, seen.length, 'no step ran twice');
    assert.equal(seen.length, search.epochs * 4);
    assert.deepEqual(search.records.map((r) => r.trainLoss), straight.records.map((r) => r.trainLoss));
    search.release();
    assert.deepEqual(result!.genotype, reference.genotype);
    for (const type of ['normal', 'reduce'] as const) assert.deepEqual(result!.alphas[type], reference.alphas[type], `${type} alphas`);
  } finally {
    backend.destroy();
  }
});

test('another seed explores differently (the seed reaches initialisation and data order)', async () => {
  const a = await fullSearch(7);
  const b = await fullSearch(8);
  assert.notDeepEqual(a.alphas.normal, b.alphas.normal);
});

test('a NaN loss stops the search with a clear message and keeps the last good checkpoint', async () => {
  const config = { ...presetConfig('tiny'), learningRate: 1e30, learningRateMin: 1e30, seed: 3 };
  const search = new Search(await gpu(), config, prepareSearchData(train, config));
  const checkpoints: number[] = [];
  await assert.rejects(search.run({ checkpoint: (_b, epoch) => void checkpoints.push(epoch) }), (e: Error) => {
    assert.ok(e instanceof SearchDivergedError, `expected SearchDivergedError, got ${e.name}: ${e.message}`);
    assert.match(e.message, /became (NaN|Infinity|-Infinity)/);
    assert.match(e.message, /last good checkpoint/);
    return true;
  });
  assert.ok(checkpoints.every((epoch) => epoch < search.epoch), 'no checkpoint written for the diverged epoch');
  search.release();
});
