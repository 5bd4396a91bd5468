// The page bundle (dist/web/) holds the runtime and the search with their WGSL, and no module
// that only Node has: a page cannot load fs, zlib or the Dawn addon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const NODE_ONLY = ['fs', 'path', 'webgpu', 'zlib', 'worker_threads', 'child_process'];

/** Every import, export-from, dynamic import or require of a Node-only module in bundle text. */
function nodeOnlyImports(code: string): string[] {
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
  return [...code.matchAll(specifier)]
    .map((m) => m[1]!)
    .filter((s) => s.startsWith('node:') || NODE_ONLY.includes(s.split('/')[0]!));
}

test('the check finds Node-only imports in every form', () => {
  const leaky = [
    'import { readFileSync } from "node:fs";', "import * as p from 'path';", 'const z = require("zlib");',
    'await import("webgpu")', 'export { Worker } from "worker_threads";', "import 'child_process';", 'import("fs/promises")',
  ].join('\n');
  assert.deepEqual(nodeOnlyImports(leaky), ['node:fs', 'path', 'zlib', 'webgpu', 'worker_threads', 'child_process', 'fs/promises']);
  assert.deepEqual(nodeOnlyImports('const a = "fs"; import { x } from "./paths.js"; // from the node: side'), []);
});

test('npm run build makes the page bundle: runtime, search and WGSL, nothing Node-only', () => {
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const bundle = readFileSync(`${root}/dist/web/main.js`, 'utf8');
  assert.deepEqual(nodeOnlyImports(bundle), []);
  assert.match(bundle, /@compute @workgroup_size/, 'the WGSL kernels are inlined');
  assert.match(bundle, /sgas-search-v1/, 'the search (its checkpoint format) is in');
  const html = readFileSync(`${root}/dist/web/index.html`, 'utf8');
  assert.match(html, /<script type="module" src="main\.js"><\/script>/);
  assert.match(html, /href="style\.css"/);
  assert.ok(readFileSync(`${root}/dist/web/style.css`, 'utf8').length > 0);
});
