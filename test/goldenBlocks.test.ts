// The runtime's first ops against the PyTorch golden vectors (blocks.json: linear, softmax, cross-entropy).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseGoldenFile } from '../src/golden/goldenFile.ts';
import { formatResult, runGolden } from '../src/golden/runner.ts';
import { gpu } from './helpers/gpu.ts';

const file = new URL('./golden/blocks.json', import.meta.url);

for (const op of ['linear', 'softmax', 'cross_entropy']) {
  test(`golden blocks: ${op}`, async () => {
    const golden = parseGoldenFile(readFileSync(file, 'utf8'), 'blocks.json');
    golden.cases = (golden.cases as { op: string }[]).filter((c) => c.op === op);
    assert.ok((golden.cases as unknown[]).length > 0, `no ${op} case in blocks.json`);
    const results = await runGolden(await gpu(), golden, 'blocks.json');
    assert.ok(results.length >= 2, 'a case must check its output and at least one gradient');
    for (const r of results) assert.ok(r.pass, formatResult(r));
  });
}
