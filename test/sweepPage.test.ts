// A browser tab joins a Redis sweep: `sgas serve --redis` lends jobs to the page, which runs them
// in its engine Worker (WebAssembly here) beside a Node worker, and the sweep comes out as if Node
// had run it all. The lease endpoints answer loopback clients only, unless a token is set.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { serveCommand, startServer } from '../src/cli/serve.ts';
import { search } from '../src/jobs/search.ts';
import { LeaseDesk, leaseAllowed } from '../src/sweep/lease.ts';
import { finished, run, sgas } from './helpers/cli.ts';
import { pageHarness, skip as noChromium } from './helpers/page.ts';
import { skipRedis, startRedis, type TestRedis } from './helpers/redis.ts';

const harness = pageHarness();
const temp: string[] = [];
let redis: TestRedis | null = null;
after(async () => {
  await redis?.stop();
  temp.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});
const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sgas-${name}-`));
  temp.push(dir);
  return dir;
};

test('who may take a lease: loopback peers without a token; with a token, whoever carries it', () => {
  for (const peer of ['127.0.0.1', '127.4.5.6', '::1', '::ffff:127.0.0.1']) assert.ok(leaseAllowed(peer, undefined, null), peer);
  for (const peer of ['10.0.0.5', '192.168.1.20', '::ffff:10.1.2.3', '2001:db8::1', undefined]) assert.ok(!leaseAllowed(peer, undefined, null), String(peer));
  assert.ok(leaseAllowed('10.0.0.5', 'secret', 'secret'));
  assert.ok(!leaseAllowed('10.0.0.5', 'secret', null));
  assert.ok(!leaseAllowed('127.0.0.1', 'secret', 'wrong'), 'with a token set, loopback needs it too');
});

test('sgas serve refuses to lend beyond this machine without a token', async () => {
  await assert.rejects(serveCommand(['--host', '0.0.0.0', '--redis', 'redis://127.0.0.1:1']), /--host 0\.0\.0\.0 lends sweep jobs beyond this machine: add --token T/);
  await assert.rejects(serveCommand(['--token', 'T']), /--token guards the sweep jobs lent with --redis/);
});

test('a page and a Node worker finish a 4-job sweep together; the page\'s search equals a plain one', { skip: skipRedis || noChromium }, async () => {
  redis = await startRedis();
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const token = 'tab-secret';
  const lending = await LeaseDesk.open({ redis: redis.url, token, work: tempDir('lend'), stalledAfterMs: 15_000, log });
  const server = await startServer({ port: 0, lending });
  try {
    // The lease endpoints want the token (the real server, on loopback).
    assert.equal((await fetch(`${server.url}sweep/lease`, { method: 'POST' })).status, 401);
    assert.equal((await fetch(`${server.url}sweep`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);

    const out = tempDir('sweep-page');
    const spec = ['--seeds', '1', '--criteria', '1,2', '--preset', 'tiny', '--train-preset', 'tiny', '--out', out];
    const queued = await run(['sweep', '--redis', redis.url, ...spec, '--detach']);
    assert.equal(queued.code, 0, queued.stderr);

    const page = await harness.browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(`${server.url}?backend=wasm&token=${token}`);
    await page.locator('#join-sweep').click({ timeout: 60_000 });
    // The page takes a job first; then a Node worker joins for the rest.
    while (!lines.some((l) => /lent to a page/.test(l))) await new Promise((r) => setTimeout(r, 200));
    const worker = sgas(['worker', '--redis', redis.url, '--backend', 'wasm', '--stalled-after', '15', '--work', tempDir('work')]);
    const workerDone = finished(worker);
    // The same sweep command again (the same --out) waits for the queued jobs and collects them.
    const done = await run(['sweep', '--redis', redis.url, ...spec]);
    assert.equal(done.code, 0, done.stderr);
    worker.kill('SIGINT');
    const workerLog = (await workerDone).stderr;
    await page.locator('#leave-sweep').click();
    await page.close();

    const byPage = lines.filter((l) => /done by a page/.test(l)).map((l) => l.split(':')[0]!);
    const byNode = [...workerLog.matchAll(/^(\S+): done in/gm)].map((m) => m[1]!);
    assert.ok(byPage.length >= 1 && byNode.length >= 1, `both took part: page ${byPage}, node ${byNode}\n${lines.join('\n')}`);
    assert.deepEqual([...byPage, ...byNode].sort(), ['search-cri1-seed1', 'search-cri2-seed1', 'train-cri1-seed1', 'train-cri2-seed1']);
    const board = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8'));
    assert.ok(board.runs.every((r: { testAccuracy?: number }) => typeof r.testAccuracy === 'number'), 'every run trained');

    // A job's folder holds the same files whoever ran it, and a search the same genotype as sgas search.
    const files = (job: string) => readdirSync(join(out, job)).sort();
    assert.deepEqual(files('search-cri1-seed1'), files('search-cri2-seed1'));
    assert.deepEqual(files('train-cri1-seed1'), files('train-cri2-seed1'));
    for (const c of [1, 2] as const) {
      const plain = await search({ preset: 'tiny', seed: 1, criterion: c, out: join(tempDir('plain'), 'run'), backend: 'wasm' });
      const swept = JSON.parse(readFileSync(join(out, `search-cri${c}-seed1`, 'genotype.json'), 'utf8'));
      assert.equal(swept.python, plain.report.python, `criterion ${c} (${byPage.includes(`search-cri${c}-seed1`) ? 'the page' : 'Node'})`);
      const run = JSON.parse(readFileSync(join(out, `search-cri${c}-seed1`, 'run.json'), 'utf8'));
      assert.deepEqual([swept.trainParameters, run.trainParameters], [plain.report.trainParameters, plain.report.trainParameters], "the cell's weights in genotype.json and run.json");
    }
  } finally {
    await server.close();
  }
});
