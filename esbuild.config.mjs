// Bundles from one source: the CLI for Node, the engine for the browser, and the search page.
// WGSL files are bundled as text in all; the browser bundles swap the Node GPU loader for a stub.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { build } from 'esbuild';
import './scripts/build-wasm.mjs';

const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning' };

const browserGpuStub = {
  name: 'browser-gpu-stub',
  setup(b) {
    b.onResolve({ filter: /\/nodeGpu\.ts$/ }, (args) => ({ path: new URL('./runtime/browserGpu.ts', import.meta.url).pathname }));
  },
};

await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/sgas.mjs',
  platform: 'node',
  target: 'node20',
  // playwright-core drives Chromium for `sgas search --browser`; it ships its own assets. sharp
  // decodes image folders with its native libvips binaries; pngjs is CommonJS that requires Node's
  // built-ins, which an ES module bundle cannot, and so are BullMQ and ioredis (sgas sweep and
  // sgas worker import them when they run, so other commands start without them).
  external: ['webgpu', 'playwright-core', 'sharp', 'pngjs', 'bullmq', 'ioredis'],
  banner: { js: '#!/usr/bin/env node' },
});

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
