// --arch-start-epoch: the weights train alone for the first epochs, then the Architect joins; a
// config kept before the setting existed resumes as it ran (the Architect from the first step).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend } from '../runtime/index.ts';
import { ConfigError, presetConfig, validateConfig, type SearchConfig } from '../src/search/config.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../src/search/checkpoint.ts';
import { prepareSearchData, Search, type EpochRecord } from '../src/search/search.ts';
import { searchOverrides } from '../src/cli/search.ts';
import { embeddedTrain as train } from './helpers/search.ts';

/** Normal-cell alphas after each of the first `epochs` epochs, and the checkpoint after the last. */
async function alphasByEpoch(overrides: Partial<SearchConfig>, epochs: number): Promise<{ alphas: number[][][]; checkpoint: Uint8Array }> {
  const config = { ...presetConfig('tiny'), warmupDecEpoch: 2, seed: 5, ...overrides };
  const backend = await createWasmBackend();
  const search = new Search(backend, config, prepareSearchData(train, config));
  const alphas: number[][][] = [];
  try {
    for (let e = 0; e < epochs; e++) {
      const record = (await search.runEpoch({})) as EpochRecord;
      alphas.push(record.cells.normal.alphas);
    }
    return { alphas, checkpoint: await search.checkpoint() };
  } finally {
    search.release();
    backend.destroy();
  }
}

test('with archStartEpoch 2 the alphas stay put for two epochs and move in the third; without it they move at once', async () => {
  const late = (await alphasByEpoch({ archStartEpoch: 2 }, 3)).alphas;
  assert.deepEqual(late[1], late[0], 'the alphas moved while the weights trained alone');
  assert.notDeepEqual(late[2], late[1], 'the Architect did not start at epoch 3');
  const early = (await alphasByEpoch({ archStartEpoch: 0 }, 2)).alphas;
  assert.notDeepEqual(early[1], early[0]);
});

test('archStartEpoch after the first decision is refused, naming both settings; the flag sets it', () => {
  const config = { ...presetConfig('cpu'), archStartEpoch: 3 };
  assert.throws(() => validateConfig(config), (e: unknown) => e instanceof ConfigError && e.key === 'archStartEpoch' && /archStartEpoch \(3\).*warmupDecEpoch 2/.test(e.message));
  validateConfig({ ...config, warmupDecEpoch: 3 });
  assert.deepEqual(searchOverrides('--arch-start-epoch 2 --warmup-dec-epoch 4'), { archStartEpoch: 2, warmupDecEpoch: 4 });
});

test('a checkpoint written before archStartEpoch existed resumes with the Architect from the first step', async () => {
  const { checkpoint } = await alphasByEpoch({}, 1);
  const { state, tensors } = decodeCheckpoint<{ config: Partial<SearchConfig> }>(checkpoint, 'memory');
  delete state.config.archStartEpoch;
  const backend = await createWasmBackend();
  const resumed = Search.fromCheckpoint(backend, encodeCheckpoint(state, tensors), train, 'old checkpoint');
  try {
    assert.equal(resumed.config.archStartEpoch, 0);
  } finally {
    resumed.release();
    backend.destroy();
  }
});
