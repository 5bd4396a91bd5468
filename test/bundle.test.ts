// The page's bundles (dist/web/): the page itself, and its engine Worker with the runtime and the
// search and their WGSL; neither holds a module that only Node has (fs, zlib, the Dawn addon).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const NODE_ONLY = ['fs', 'path', 'webgpu', 'zlib', 'worker_threads', 'child_process'];

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

/**
 * The bundle's code with comments, regex literals and the text of strings and templates blanked,
 * except strings where a module specifier stands (after from, import, import(, require(). A
 * worker's source kept in a template string is text, not an import of this bundle.
 */
function codeOnly(js: string): string {
  let out = '';
  // Open `${` expressions inside templates, each with its own brace depth.
  const templates: number[] = [];
  let braces = 0;
  let i = 0;
  const skipTemplate = () => {
    for (i++; i < js.length; i++) {
      if (js[i] === '\\') i++;
      else if (js[i] === '`') return void i++;
      else if (js[i] === '$' && js[i + 1] === '{') {
        templates.push(braces);
        braces = 0;
        i += 2;
        return;
      }
    }
  };
  while (i < js.length) {
    const c = js[i]!;
    if (c === '/' && js[i + 1] === '/') i = js.indexOf('\n', i) < 0 ? js.length : js.indexOf('\n', i);
    else if (c === '/' && js[i + 1] === '*') i = js.includes('*/', i + 2) ? js.indexOf('*/', i + 2) + 2 : js.length;
    else if (c === '"' || c === "'") {
      let end = i + 1;
      while (end < js.length && js[end] !== c) end += js[end] === '\\' ? 2 : 1;
      const specifier = /(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*$/.test(out.slice(-20));
      out += specifier ? js.slice(i, end + 1) : `${c}${c}`;
      i = end + 1;
    } else if (c === '`') {
      out += '``';
      skipTemplate();
    } else if (c === '}' && braces === 0 && templates.length) {
      braces = templates.pop()!;
      skipTemplate();
    } else if (c === '/' && (/[(,=:[!&|?{};+\-*%<>~^]\s*$|^\s*$/.test(out.slice(-20)) || REGEX_AFTER_WORD.has(/(\w+)\s*$/.exec(out.slice(-20))?.[1] ?? ''))) {
      let inClass = false;
      for (i++; i < js.length && (js[i] !== '/' || inClass); i++) {
        if (js[i] === '\\') i++;
        else if (js[i] === '[') inClass = true;
        else if (js[i] === ']') inClass = false;
      }
      for (i++; /\w/.test(js[i] ?? ''); i++);
      out += '/regex/';
    } else {
      if (c === '{') braces++;
      if (c === '}') braces--;
      out += c;
      i++;
    }
  }
  return out;
}

/** Every import, export-from, dynamic import or require of a Node-only module in bundle text. */
function nodeOnlyImports(bundle: string): string[] {
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
  return [...codeOnly(bundle).matchAll(specifier)]
    .map((m) => m[1]!)
    .filter((s) => s.startsWith('node:') || NODE_ONLY.includes(s.split('/')[0]!));
}

test('the check finds Node-only imports in every form, and not text that only mentions them', () => {
  const leaky = [
    'import { readFileSync } from "node:fs";', "import * as p from 'path';", 'const z = require("zlib");',
    'await import("webgpu")', 'export { Worker } from "worker_threads";', "import 'child_process';", 'import("fs/promises")',
    'const t = `a ${x + require("node:os").EOL} b`;', 'if (/["`]/.test(s)) require("node:fs");',
  ].join('\n');
  assert.deepEqual(nodeOnlyImports(leaky), ['node:fs', 'path', 'zlib', 'webgpu', 'worker_threads', 'child_process', 'fs/promises', 'node:os', 'node:fs']);
  const innocent = [
    'const a = "fs"; import { x } from "./paths.js"; // from the node: side, require("fs")',
    "const worker = `const { parentPort } = require('node:worker_threads'); start(${JSON.stringify({ a: 1 })});`;",
    'const s = "require(\\"zlib\\")"; /* import("fs") */ const r = a / b / c; const q = /import("fs")/g;',
  ].join('\n');
  assert.deepEqual(nodeOnlyImports(innocent), []);
});

test('npm run build makes the page and its engine Worker: runtime, search and WGSL in the Worker only, nothing Node-only', () => {
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const page = readFileSync(`${root}/dist/web/main.js`, 'utf8');
  const engine = readFileSync(`${root}/dist/web/engine.js`, 'utf8');
  for (const bundle of [page, engine]) assert.deepEqual(nodeOnlyImports(bundle), []);
  // The scan kept in step to the end: the page's last statement is still code, its messages text.
  assert.ok(codeOnly(page).includes('installHook(session, actions)'));
  assert.ok(codeOnly(engine).includes('scope.onmessage'));
  assert.ok(!codeOnly(engine).includes('not a secure context'));
  assert.match(engine, /@compute @workgroup_size/, 'the WGSL kernels are inlined in the engine');
  assert.match(engine, /sgas-search-v1/, 'the search (its checkpoint format) is in the engine');
  // The page's thread has no kernels and no search to run: it starts the engine Worker.
  assert.doesNotMatch(page, /@compute @workgroup_size|sgas-search-v1|createWasmBackend/);
  assert.match(page, /new URL\("\.\/engine\.js", import\.meta\.url\)/);
  const html = readFileSync(`${root}/dist/web/index.html`, 'utf8');
  assert.match(html, /<script type="module" src="main\.js"><\/script>/);
  assert.match(html, /href="style\.css"/);
  assert.ok(readFileSync(`${root}/dist/web/style.css`, 'utf8').length > 0);
});

test('the inference-only browser bundle: no search or training code, nothing Node-only, at most 150 KB gzipped', () => {
  // The page test above has just run esbuild.config.mjs, which writes the report.
  const { inferBundle } = JSON.parse(readFileSync(`${root}/dist/build-report.json`, 'utf8'));
  const modules: string[] = inferBundle.modules;
  const training = /^src\/(search\/(search|architect|model|edgeDecision|step|config)|eval\/(train|step|config)|train\/|data\/(load|idx|cifar|embedded|folderLoad|imageFolder|imageDecode|imageCache|transforms)|cli\/|web\/)|^runtime\/optim\//;
  assert.deepEqual(modules.filter((m) => training.test(m)), []);
  for (const needed of ['src/eval/model.ts', 'runtime/wasm/backend.ts', 'runtime/webgpuBackend.ts', 'src/data/image.ts', 'src/data/resample.ts']) {
    assert.ok(modules.includes(needed), `${needed}: the network, both backends and the training data's own preprocessing`);
  }
  assert.deepEqual(nodeOnlyImports(readFileSync(`${root}/dist/browser/infer.js`, 'utf8')), []);
  assert.ok(inferBundle.gzipBytes <= 150 * 1024, `${inferBundle.gzipBytes} bytes gzipped`);
  assert.ok(inferBundle.minifiedGzipBytes < inferBundle.gzipBytes);
});
