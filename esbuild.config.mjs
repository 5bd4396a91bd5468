// Bundles from one source: the CLI for Node, the library's entries (".": Node; "./infer": Node and
// browser), the engine for the browser, and the search page. WGSL files are bundled as text in all;
// the browser bundles swap the Node GPU loader for a stub. Writes dist/build-report.json with the
// gzipped size of the inference-only browser bundle.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import './scripts/build-wasm.mjs';

const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning' };

const browserGpuStub = {
  name: 'browser-gpu-stub',
  setup(b) {
    b.onResolve({ filter: /\/nodeGpu\.ts$/ }, (args) => ({ path: new URL('./runtime/browserGpu.ts', import.meta.url).pathname }));
  },
};

// The Node bundles leave the package's dependencies to node_modules: the Dawn addon (webgpu);
// playwright-core, which drives Chromium for `sgas search --browser` and ships its own assets; sharp,
// which decodes image folders with its native libvips binaries; and pngjs, CommonJS that requires
// Node's built-ins, which an ES module bundle cannot, and so are BullMQ and ioredis (sgas sweep and
// sgas worker import them when they run, so other commands start without them).
const node = { ...common, platform: 'node', target: 'node20', external: ['webgpu', 'playwright-core', 'sharp', 'pngjs', 'bullmq', 'ioredis'] };

await build({ ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/sgas.mjs', banner: { js: '#!/usr/bin/env node' } });

// The library for Node: "." and "./infer" (package.json exports).
for (const [entry, outfile] of [['src/index.ts', 'dist/index.js'], ['src/infer/index.ts', 'dist/infer.js']]) {
  await build({ ...node, entryPoints: [entry], outfile });
}

const browserInfer = { ...common, entryPoints: ['src/infer/index.ts'], platform: 'browser', target: 'es2022', plugins: [browserGpuStub] };
const { metafile } = await build({ ...browserInfer, outfile: 'dist/browser/infer.js', metafile: true });
const minified = await build({ ...browserInfer, outfile: 'dist/browser/infer.min.js', minify: true, sourcemap: false, write: false });
const gzipped = (bytes) => gzipSync(bytes, { level: 9 }).length;
const report = {
  inferBundle: {
    file: 'dist/browser/infer.js',
    bytes: readFileSync('dist/browser/infer.js').length,
    gzipBytes: gzipped(readFileSync('dist/browser/infer.js')),
    minifiedGzipBytes: gzipped(minified.outputFiles[0].contents),
    kernelsWasmGzipBytes: gzipped(readFileSync('dist/wasm/kernels.wasm')),
    kernelsThreadsWasmGzipBytes: gzipped(readFileSync('dist/wasm/kernels-threads.wasm')),
    modules: Object.entries(metafile.outputs['dist/browser/infer.js'].inputs).filter(([, i]) => i.bytesInOutput > 0).map(([path]) => path).sort(),
  },
};
writeFileSync('dist/build-report.json', JSON.stringify(report, null, 2) + '\n');
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const r = report.inferBundle;
console.log(`build: inference bundle ${r.file} ${kb(r.gzipBytes)} gzipped (${kb(r.minifiedGzipBytes)} minified), plus kernels.wasm ${kb(r.kernelsWasmGzipBytes)} gzipped`);

await build({
  ...common,
  entryPoints: ['runtime/index.ts'],
  outfile: 'dist/browser/runtime.js',
  platform: 'browser',
  target: 'es2022',
  plugins: [browserGpuStub],
});

// The page (main.js: drawing, input, IndexedDB) and its engine Worker (engine.js: backend, data, search).
await build({
  ...common,
  entryPoints: { main: 'src/web/main.ts', engine: 'src/web/engine.ts' },
  outdir: 'dist/web',
  platform: 'browser',
  target: 'es2022',
  plugins: [browserGpuStub],
});
mkdirSync('dist/web', { recursive: true });
for (const file of ['index.html', 'style.css']) copyFileSync(`src/web/${file}`, `dist/web/${file}`);
// The WebAssembly kernels go next to the page (runtime/wasm/module.ts looks in ./wasm/), so dist/web is whole.
mkdirSync('dist/web/wasm', { recursive: true });
for (const file of readdirSync('dist/wasm').filter((f) => f.endsWith('.wasm'))) copyFileSync(`dist/wasm/${file}`, `dist/web/wasm/${file}`);
