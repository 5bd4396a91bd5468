// The ETA of long work: counted in epochs, so a search whose batch grows (fewer steps in its later
// epochs) ends at 00:00 and does not overestimate the epochs left, and a resumed run's pace counts
// from where it resumed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochsDone, etaFrom, Progress } from '../src/cli/progress.ts';

test('epochsDone counts the epoch in progress as a fraction of its own steps', () => {
  assert.equal(epochsDone({ epoch: 0, step: 0, steps: 32 }), 0);
  assert.equal(epochsDone({ epoch: 2, step: 8, steps: 32 }), 2.25);
  // A later epoch at a larger batch: fewer steps, the same share of the run.
  assert.equal(epochsDone({ epoch: 2, step: 4, steps: 16 }), 2.25);
  assert.equal(epochsDone({ epoch: 3, step: 16, steps: 16 }), 4);
});

test('etaFrom: the pace since the first step seen, over the epochs left', () => {
  const first = { at: 1000, done: 0 };
  // 2 epochs in 20 s: 8 epochs left take 80 s.
  assert.equal(etaFrom(first, 2, 10, 21_000), 80);
  // Resumed 5 epochs in: 1 epoch in 10 s since then, 4 left.
  assert.equal(etaFrom({ at: 0, done: 5 }, 6, 10, 10_000), 40);
  assert.equal(etaFrom(first, 0, 10, 5000), Infinity);
});

test('a search whose steps shrink as its batch grows: the ETA counts epochs, and ends at 00:00', () => {
  const lines: string[] = [];
  const out = { isTTY: false, write: (text: string) => void lines.push(text) } as unknown as NodeJS.WriteStream;
  // Every epoch takes 60 s: 4 steps of 15 s at batch 32, then 2 of 30 s at batch 64.
  let clock = 0;
  const progress = new Progress(out, 0, () => clock);
  for (const [epoch, steps] of [[0, 4], [1, 2], [2, 2]] as const) {
    for (let step = 1; step <= steps; step++) {
      clock += 60_000 / steps;
      progress.update({ epoch, epochs: 3, step, steps, loss: 1 });
    }
  }
  const eta = (line: string) => /elapsed (\d\d:\d\d) eta (\d\d:\d\d)\n$/.exec(line)!.slice(1);
  // The first step came 15 s in, and the pace counts from it: after one epoch, 2 minutes left.
  assert.deepEqual(eta(lines[3]!), ['01:00', '02:00']);
  assert.deepEqual(eta(lines[4]!), ['01:30', '01:30']);
  assert.deepEqual(eta(lines.at(-1)!), ['03:00', '00:00']);
  assert.equal(lines.length, 8);
});
