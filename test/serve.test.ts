// `sgas serve`: the page, /data/ and /golden/ from their folders, cross-origin isolation headers
// on every answer, and nothing outside the folders.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveCommand, startServer, type ServeRoots } from '../src/cli/serve.ts';

/** A raw GET, so paths like /data/..%2f.. reach the server as they are written. */
function get(url: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(url), { path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function fixture(): { dir: string; roots: ServeRoots } {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-serve-'));
  const roots = { web: join(dir, 'web'), data: join(dir, 'data'), golden: join(dir, 'golden') };
  for (const d of Object.values(roots)) mkdirSync(d);
  writeFileSync(join(roots.web, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(roots.web, 'main.js'), 'export {};');
  writeFileSync(join(roots.data, 'train-labels-idx1-ubyte.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  writeFileSync(join(roots.golden, 'mixedop.json'), '{"schema":"sgas-golden-v1"}');
  writeFileSync(join(dir, 'secret.txt'), 'not served');
  return { dir, roots };
}

test('serves the page, /data/ and /golden/ with COOP/COEP, and nothing outside them', async () => {
  const { dir, roots } = fixture();
  const server = await startServer({ port: 0, roots });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url, '/');
    assert.equal(page.status, 200);
    assert.equal(page.body.toString(), '<!doctype html><title>page</title>');
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal((await get(server.url, '/main.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    // The page gunzips the data itself: the bytes go out as stored, with no Content-Encoding.
    const gz = await get(server.url, '/data/train-labels-idx1-ubyte.gz');
    assert.deepEqual([...gz.body], [0x1f, 0x8b, 1, 2, 3]);
    assert.equal(gz.headers['content-encoding'], undefined);
    assert.equal(gz.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(JSON.parse((await get(server.url, '/golden/mixedop.json')).body.toString()).schema, 'sgas-golden-v1');
    for (const path of ['/../secret.txt', '/data/..%2f..%2fsecret.txt', '/golden/%2e%2e/%2e%2e/secret.txt', '/missing.js', '/data/%E0%A4%A']) {
      const res = await get(server.url, path);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin', path);
    }
    assert.equal((await get(server.url, '/', 'POST')).status, 405);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses to start without a built page, and names bad flags', async () => {
  const { dir, roots } = fixture();
  try {
    rmSync(join(roots.web, 'index.html'));
    assert.throws(() => startServer({ port: 0, roots }), /index\.html not found: build the page first \(npm run build\)/);
    await assert.rejects(serveCommand(['--port', 'eighty']), /--port eighty: expected an integer/);
    await assert.rejects(serveCommand(['--bogus']), /serve: Unknown option '--bogus'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
