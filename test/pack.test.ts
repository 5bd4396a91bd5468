// The package as users get it: `npm pack`, then an empty project installs the tarball offline. There
// the library's entries load in Node (types included), the CLI runs, an inference page is bundled
// with esbuild from the installed package, and Chromium (Playwright) predicts images with it, as
// Node does. The package's own dependencies (webgpu, playwright-core, sharp, pngjs) are linked to this
// checkout's node_modules: a fresh machine's npm cache holds their files but not the registry's metadata.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { createWasmBackend } from '../runtime/index.ts';
import { launchChromium } from '../src/cli/browserSearch.ts';
import { startServer } from '../src/cli/serve.ts';
import { loadDataset } from '../src/data/load.ts';
import { loadModel, type Prediction } from '../src/infer/index.ts';
import { assertClose } from './helpers/gpu.ts';
import { FASHION, modelFile } from './helpers/model.ts';
import { root, skip } from './helpers/page.ts';

const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'sgas-pack-'));
const project = join(dir, 'app');
const run = (command: string, args: string[], cwd: string) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Four embedded test images as 28×28 gray bytes, and what the checkout's own API predicts for them. */
const test0 = loadDataset(undefined, 'test');
const images = Array.from({ length: 4 }, (_, i) =>
  Array.from(test0.images.subarray(i * 784, (i + 1) * 784), (x) => Math.round((x * FASHION.std[0]! + FASHION.mean[0]!) * 255)));
let expected: Prediction[];
let packed: string[];

before(async () => {
  run('npm', ['run', '-s', 'build'], root);
  const [info] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root));
  packed = info.files.map((f: { path: string }) => f.path);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({
    name: 'app', private: true, type: 'module',
    dependencies: {
      'sgas-webgpu': `file:${join(dir, info.filename)}`,
      ...Object.fromEntries(Object.keys(dependencies).map((name) => [name, `file:${join(root, 'node_modules', name)}`])),
    },
  }));
  run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);

  const backend = await createWasmBackend({ threads: 1 });
  const bytes = await modelFile(backend, FASHION);
  writeFileSync(join(project, 'model.sgas'), bytes);
  writeFileSync(join(project, 'images.json'), JSON.stringify(images));
  const model = await loadModel(bytes, { backend });
  expected = await model.predict(images.map((data) => ({ data: Uint8Array.from(data), width: 28, height: 28, channels: 1 as const })));
  model.dispose();
  backend.destroy();
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack ships the bundles, kernels, types and embedded data, and no sources, tests or source maps', () => {
  for (const file of ['dist/sgas.mjs', 'dist/index.js', 'dist/infer.js', 'dist/browser/infer.js', 'dist/wasm/kernels.wasm',
    'dist/wasm/kernels-threads.wasm', 'dist/wasm/kernels-relaxed.wasm', 'dist/wasm/kernels-threads-relaxed.wasm', 'dist/web/index.html', 'dist/types/src/index.d.ts', 'dist/types/src/infer/index.d.ts',
    'data/fashion-mnist/t10k-images-idx3-ubyte.gz', 'package.json', 'README.md']) {
    assert.ok(packed.includes(file), `${file} is packed`);
  }
  assert.deepEqual(packed.filter((f) => /^(src|test|runtime|wasm|shaders|bench|scripts)\/|\.map$|build-report/.test(f)), []);
});

test('installed from the tarball: both entries run in Node, their types check, and the CLI runs', () => {
  writeFileSync(join(project, 'run.mjs'), `
    import { readFileSync } from 'node:fs';
    import { genotypeByName, genotypeToPython, loadDataset } from 'sgas-webgpu';
    import { loadModel } from 'sgas-webgpu/infer';
    const images = JSON.parse(readFileSync('images.json', 'utf8'));
    const model = await loadModel('model.sgas', { backend: 'wasm' });
    const predictions = await model.predict(images.map((d) => ({ data: Uint8Array.from(d), width: 28, height: 28, channels: 1 })));
    model.dispose();
    console.log(JSON.stringify({ predictions, test: loadDataset(undefined, 'test').n, darts: genotypeToPython(genotypeByName('DARTS_V2')) }));
  `);
  const out = JSON.parse(run(process.execPath, ['run.mjs'], project));
  assert.equal(out.test, 10_000, 'the embedded data is found inside the installed package');
  assert.match(out.darts, /^Genotype\(normal=\[\('sep_conv_3x3', 0\)/);
  assertClose(out.predictions.flatMap((p: Prediction) => p.probs), expected.flatMap((p) => p.probs), 'probabilities', 1e-6, 1e-6);
  assert.deepEqual(out.predictions.map((p: Prediction) => p.top), expected.map((p) => p.top));

  writeFileSync(join(project, 'check.ts'), `
    import { loadModel, type Prediction, type PixelImage } from 'sgas-webgpu/infer';
    import { createWasmBackend, genotypeByName, search, type Genotype, type SearchOptions, type SearchOutcome } from 'sgas-webgpu';
    const genotype: Genotype = genotypeByName('PDARTS');
    const options: SearchOptions = { preset: 'tiny', criterion: 2, overrides: { maxImages: 256 }, backend: 'wasm' };
    const run: (o: SearchOptions) => Promise<SearchOutcome> = search;
    // @ts-expect-error the criterion is 1 or 2
    const bad: SearchOptions = { criterion: 3 };
    console.log(options, run, bad);
    const backend = await createWasmBackend();
    const model = await loadModel('model.sgas', { backend });
    const image: PixelImage = { data: new Uint8Array(784), width: 28, height: 28, channels: 1 };
    const prediction: Prediction = await model.predict(image);
    const many: Prediction[] = await model.predict([image, image], { topK: 2 });
    // @ts-expect-error class names are strings, not a count
    const wrong: number = model.classes;
    console.log(genotype, prediction.top[0]?.className, many.length, wrong);
  `);
  run(join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), 'check.ts'], project);

  assert.match(run(join(project, 'node_modules', '.bin', 'sgas'), ['info', '--genotype', 'DARTS_V2'], project), /^params: 3349342$/m);
});

test('installed from the tarball: search() finds a cell and train() trains it, with progress, as the CLI would', () => {
  writeFileSync(join(project, 'job.mjs'), `
    import { search, train } from 'sgas-webgpu';
    const epochs = [];
    let steps = 0;
    const found = await search({ preset: 'tiny', seed: 1, out: 'runs/s1', backend: 'wasm' }, { onEpoch: (r) => epochs.push(r.epoch), onStep: () => steps++ });
    const trained = await train({ genotype: found.out, preset: 'tiny', out: 'runs/t1', backend: 'wasm' });
    console.log(JSON.stringify({ epochs, steps, python: found.report.python, accuracy: trained.report.testAccuracy, images: trained.report.testImages }));
  `);
  const out = JSON.parse(run(process.execPath, ['job.mjs'], project));
  const written = JSON.parse(readFileSync(join(project, 'runs', 's1', 'genotype.json'), 'utf8'));
  assert.match(out.python, /^Genotype\(normal=/);
  assert.equal(out.python, written.python, 'the genotype returned is the one written to the run folder');
  const cli = run(join(project, 'node_modules', '.bin', 'sgas'), ['search', '--preset', 'tiny', '--seed', '1', '--out', 'runs/c1', '--backend', 'wasm'], project);
  assert.equal(cli.trim(), out.python, 'sgas search with the same settings finds the same cell');
  assert.deepEqual(out.epochs, out.epochs.map((_: number, i: number) => i), 'every epoch reported, in order');
  assert.ok(out.steps >= out.epochs.length, `steps reported (${out.steps})`);
  assert.ok(out.accuracy >= 0 && out.accuracy <= 1 && out.images > 0, `a test accuracy on the test images (${out.accuracy} on ${out.images})`);
});

test('an inference page bundled with esbuild from the installed package predicts in Chromium as in Node', { skip }, async () => {
  const www = join(project, 'www');
  mkdirSync(join(www, 'wasm'), { recursive: true });
  writeFileSync(join(project, 'page.js'), `
    import { loadModel } from 'sgas-webgpu/infer';
    // ImageData, an ImageBitmap and an <img> of the same gray picture.
    window.predictImage = async (pixels, backend) => {
      const model = await loadModel('model.sgas', { backend });
      try {
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 28;
        const imageData = new ImageData(28, 28);
        pixels.forEach((v, p) => imageData.data.set([v, v, v, 255], 4 * p));
        canvas.getContext('2d').putImageData(imageData, 0, 0);
        const bitmap = await createImageBitmap(canvas);
        const img = new Image();
        img.src = canvas.toDataURL('image/png');
        await img.decode();
        return { backend: model.backend.name, predictions: await model.predict([imageData, bitmap, img]) };
      } finally {
        model.dispose();
      }
    };
  `);
  await build({ entryPoints: [join(project, 'page.js')], bundle: true, format: 'esm', platform: 'browser', outfile: join(www, 'page.js'), logLevel: 'warning', absWorkingDir: project });
  writeFileSync(join(www, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>\n');
  copyFileSync(join(project, 'model.sgas'), join(www, 'model.sgas'));
  const kernels = join(project, 'node_modules', 'sgas-webgpu', 'dist', 'wasm');
  for (const file of readdirSync(kernels)) copyFileSync(join(kernels, file), join(www, 'wasm', file));

  const server = await startServer({ port: 0, roots: { web: www, data: www, golden: www } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    await page.goto(server.url);
    await page.waitForFunction(() => 'predictImage' in window);
    for (const [backend, tolerance] of [['wasm', 1e-6], ['webgpu', 1e-4]] as const) {
      const result = await page.evaluate(([pixels, b]) => (window as unknown as {
        predictImage(p: number[], b: string): Promise<{ backend: string; predictions: Prediction[] }>;
      }).predictImage(pixels, b), [images[0]!, backend] as const);
      assert.equal(result.backend, backend);
      for (const p of result.predictions) {
        assertClose(p.probs, expected[0]!.probs, `${backend} probabilities`, tolerance, tolerance);
        assert.deepEqual(p.top.map((t) => t.className), expected[0]!.top.map((t) => t.className));
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
});
