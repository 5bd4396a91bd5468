import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../runtime/rng.ts';

test('xoshiro128** matches the reference implementation from state {1,2,3,4}', () => {
  const rng = Rng.fromState([1, 2, 3, 4]);
  const out = Array.from({ length: 10 }, () => rng.uint32());
  assert.deepEqual(out, [
    11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
  ]);
});

test('the same seed gives the same stream; different seeds differ', () => {
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return [rng.next(), rng.normal(), rng.int(1000), rng.uniform(-3, 5), ...rng.permutation(8)];
  };
  assert.deepEqual(draw(2), draw(2));
  assert.notDeepEqual(draw(2), draw(3));
  assert.notDeepEqual(draw(7), draw(7 + 2 ** 32));
});

test('state() survives JSON and resumes the stream exactly, including a pending normal', () => {
  const rng = new Rng(42);
  rng.next();
  rng.normal(); // leaves the second Box–Muller value pending
  const saved = JSON.parse(JSON.stringify(rng.state())) as number[];
  assert.equal(saved.length, 5);
  const resumed = Rng.fromState(saved);
  for (let i = 0; i < 100; i++) {
    assert.equal(resumed.normal(), rng.normal());
    assert.equal(resumed.next(), rng.next());
  }
  assert.deepEqual(resumed.state(), rng.state());
});

test('fromState rejects a malformed state', () => {
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), /not all zero/);
  assert.throws(() => Rng.fromState([1, 2, 3]), /expected 4 uint32 words/);
  assert.throws(() => Rng.fromState([1, 2, 3, 2 ** 32]), /expected 4 uint32 words/);
});

test('uniform and normal have the expected moments', () => {
  const rng = new Rng(1);
  const n = 200_000;
  let sum = 0, sumSq = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    sum += u; sumSq += u * u;
    min = Math.min(min, u); max = Math.max(max, u);
  }
  assert.ok(min >= 0 && max < 1);
  assert.ok(Math.abs(sum / n - 0.5) < 0.005);
  assert.ok(Math.abs(sumSq / n - (sum / n) ** 2 - 1 / 12) < 0.002);

  let zSum = 0, zSq = 0, zFourth = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    zSum += z; zSq += z * z; zFourth += z ** 4;
  }
  assert.ok(Math.abs(zSum / n) < 0.01);
  assert.ok(Math.abs(zSq / n - 1) < 0.02);
  assert.ok(Math.abs(zFourth / n - 3) < 0.1); // kurtosis of a Gaussian

  const u = rng.uniform(-2, 6);
  assert.ok(u >= -2 && u < 6);
});

test('int covers [0, n) evenly; shuffle and permutation are permutations', () => {
  const rng = new Rng(5);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[rng.int(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `bucket count ${c}`);
  assert.throws(() => rng.int(0), /n must be an integer/);

  const p = rng.permutation(1000);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  const words = ['a', 'b', 'c', 'd', 'e'];
  assert.equal(rng.shuffle(words), words);
  assert.deepEqual([...words].sort(), ['a', 'b', 'c', 'd', 'e']);
});
