// --param-free-drop: the search's undecided edges drop samples of their pools' and identity's
// outputs (P-DARTS's dropout against the drift to parameter-free ops), and a search that does
// stops and resumes to the uninterrupted result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend, dropPathMask, softmax, Tape, Tensor } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { searchOverrides } from '../src/cli/search.ts';
import { ConfigError, presetConfig, validateConfig } from '../src/search/config.ts';
import { MixedOp } from '../src/search/model.ts';
import { prepareSearchData, Search } from '../src/search/search.ts';
import { PRIMITIVES } from '../src/search/space.ts';
import { assertClose } from './helpers/gpu.ts';
import { straightSearch, embeddedTrain as train } from './helpers/search.ts';

const DROPPED = ['max_pool_3x3', 'avg_pool_3x3', 'skip_connect'];

test("a mixed edge's output is its weighted sum with the pools' and identity's samples dropped, the convolutions' kept", async () => {
  const backend = await createWasmBackend();
  const data = new Rng(3);
  const [N, C, S] = [4, 2, 6];
  const mixed = new MixedOp({ backend, rng: new Rng(1), affine: false }, C, 1);
  const x = Tensor.from(backend, Float32Array.from({ length: N * C * S * S }, () => data.normal()), [N, C, S, S]);
  const alpha = Tensor.from(backend, Float32Array.from(PRIMITIVES, () => data.normal()), [1, PRIMITIVES.length]);
  const keep = 0.5;
  const y = await Tape.outside(() => mixed.forward(x, -1, softmax(alpha), { keep, rng: new Rng(8) })).read();

  // The masks come from the generator in op order, one per dropped op.
  const masks = new Rng(8);
  const weights = await Tape.outside(() => softmax(alpha)).read();
  const expected = new Float32Array(y.length);
  for (let k = 1; k < PRIMITIVES.length; k++) {
    const out = await Tape.outside(() => mixed.ops[k]!.forward(x)).read();
    const mask = DROPPED.includes(PRIMITIVES[k]!) ? dropPathMask(masks, N, keep) : new Float32Array(N).fill(1);
    for (let i = 0; i < out.length; i++) expected[i] += weights[k]! * mask[Math.floor(i / (out.length / N))]! * out[i]!;
  }
  assertClose(y, expected, 'mixed edge output', 1e-5, 1e-5);
  mixed.release();
  for (const t of [x, alpha]) t.release();
  backend.destroy();
});

test('a search with paramFreeDrop stopped mid-epoch resumes from its checkpoint to the uninterrupted result, and differs from one without', async () => {
  const config = { ...presetConfig('tiny'), batchSize: 4, seed: 3, paramFreeDrop: 0.3 };
  const backend = await createWasmBackend();
  const data = prepareSearchData(train, config);
  try {
    const reference = await straightSearch(backend, config, data);
    const first = new Search(backend, config, data);
    assert.equal(await first.run({ step: (s) => void (s.epoch === 2 && s.step === 3 && first.requestStop()) }), null);
    const saved = await first.checkpoint();
    first.release();
    const resumed = Search.fromCheckpoint(backend, saved, train, 'memory');
    const result = (await resumed.run())!;
    resumed.release();
    assert.deepEqual(result.alphas, reference.alphas);
    assert.deepEqual(result.genotype, reference.genotype);

    const without = await straightSearch(backend, { ...config, paramFreeDrop: 0 }, data);
    assert.notDeepEqual(without.alphas, reference.alphas, 'dropping changed nothing');
  } finally {
    backend.destroy();
  }
});

test('--param-free-drop sets it; 1 and above are refused', () => {
  assert.deepEqual(searchOverrides('--param-free-drop 0.3'), { paramFreeDrop: 0.3 });
  assert.throws(() => searchOverrides('--param-free-drop 1'), /--param-free-drop/);
  assert.throws(() => validateConfig({ ...presetConfig('cpu'), paramFreeDrop: 1 }), (e: unknown) => e instanceof ConfigError && e.key === 'paramFreeDrop');
});
