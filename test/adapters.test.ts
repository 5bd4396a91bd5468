// Adapters: auto and --adapter INDEX|TEXT choose as documented, and `sgas adapters` lists this
// machine's two WebGPU implementations (SwiftShader on Vulkan, Mesa's llvmpipe through Dawn's
// OpenGL ES in compatibility mode) with nothing set by hand and no native warnings in its output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chooseAdapter, createBackend, type AdapterSummary, type WasmBackend, type WebGpuBackend } from '../runtime/index.ts';
import { backendFlag } from '../src/cli/args.ts';
import { NoiseFilter } from '../src/cli/nativeNoise.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function adapter(index: number, fields: Partial<AdapterSummary>): AdapterSummary {
  return {
    index, backend: 'vulkan', featureLevel: 'core', vendor: '', architecture: '', device: '', description: '',
    type: 'gpu', fallback: false, limits: {}, features: [], ...fields,
  };
}

const machine = [
  adapter(0, { backend: 'vulkan', vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)', type: 'cpu', fallback: true }),
  adapter(1, { backend: 'opengles', featureLevel: 'compatibility', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', type: 'cpu' }),
  adapter(2, { backend: 'opengles', featureLevel: 'compatibility', vendor: 'intel', device: 'Mesa Intel(R) UHD Graphics 620' }),
  adapter(3, { backend: 'vulkan', vendor: 'nvidia', architecture: 'ampere', device: 'NVIDIA GeForce RTX 3060' }),
];

test('auto prefers a real GPU, then full WebGPU over compatibility mode, then the listing order', () => {
  assert.equal(chooseAdapter(machine).index, 3);
  assert.equal(chooseAdapter(machine.slice(0, 3)).index, 2, 'a GL-only real GPU beats a software Vulkan one');
  assert.equal(chooseAdapter(machine.slice(0, 2)).index, 0, 'software only: core first');
  assert.equal(chooseAdapter([machine[1]!, machine[0]!]).index, 0);
});

test('--adapter takes an index or a case-insensitive part of a name, and names the choices when nothing fits', () => {
  assert.equal(chooseAdapter(machine, '1').index, 1);
  assert.equal(chooseAdapter(machine, 'LLVMpipe').index, 1);
  assert.equal(chooseAdapter(machine, 'swiftshader').index, 0);
  assert.equal(chooseAdapter(machine, 'opengles').index, 1, 'the first match in listing order');
  assert.equal(chooseAdapter(machine, 'nvidia').index, 3);
  assert.throws(() => chooseAdapter(machine, '7'), /--adapter 7: there is no adapter 7 \(adapters: \[0\] vulkan google swiftshader/);
  assert.throws(() => chooseAdapter(machine, 'radeon'), /no adapter's backend, vendor, architecture or description contains 'radeon'.*\[3\] vulkan nvidia ampere/);
  assert.deepEqual(backendFlag(['--adapter', 'llvmpipe', '--preset', 'tiny']), { choice: 'auto', adapter: 'llvmpipe', argv: ['--preset', 'tiny'] });
  assert.deepEqual(backendFlag(['--adapter=1', '--backend', 'webgpu']), { choice: 'webgpu', adapter: '1', argv: [] });
  assert.throws(() => backendFlag(['--adapter']), /--adapter: expected an index or a name/);
});

test("Dawn's and Mesa's native warnings are dropped from the CLI's stderr, the rest passes as it comes", () => {
  const out: string[] = [];
  const filter = new NoiseFilter((text) => out.push(text));
  filter.write('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.\nsgas search: tiny');
  filter.write(' preset\n\r\x1b[2K[###.....] epoch 1/9');
  filter.write('\nWarning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER\n    at CheckVkSuccessImpl (/dawn/src/dawn/native/vulkan/VulkanError.cpp:106)\nerror: XDG_RUNTIME_DIR is invalid or not set\nWarn');
  filter.write('ing: lavapipe rejected\nWarn!\n');
  filter.end();
  assert.equal(out.join(''), 'sgas search: tiny preset\n\r\x1b[2K[###.....] epoch 1/9\nWarn!\n');
  assert.equal(out[0], 'sgas search: tiny', 'a partial line that cannot be a warning is not held back');
});

test('sgas adapters lists SwiftShader and llvmpipe here, numbered, with limits and features, and a clean stderr', async () => {
  const run = promisify(execFile);
  const env = { ...process.env };
  for (const name of ['VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES', 'EGL_PLATFORM', 'XDG_RUNTIME_DIR']) delete env[name];
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-hook.mjs', 'src/cli/main.ts', 'adapters', '--json'], { cwd: root, env });
  assert.equal(stderr, '');
  const listed = JSON.parse(stdout) as AdapterSummary[];
  const swiftshader = listed.find((a) => a.architecture === 'swiftshader');
  const llvmpipe = listed.find((a) => a.device.startsWith('llvmpipe'));
  assert.ok(swiftshader && llvmpipe, `both implementations listed: ${stdout}`);
  assert.deepEqual(listed.map((a) => a.index), listed.map((_, i) => i));
  assert.deepEqual([swiftshader.backend, swiftshader.featureLevel, swiftshader.type, swiftshader.fallback], ['vulkan', 'core', 'cpu', true]);
  assert.deepEqual([llvmpipe.backend, llvmpipe.featureLevel, llvmpipe.type], ['opengles', 'compatibility', 'cpu']);
  assert.match(llvmpipe.description, /OpenGL ES/);
  assert.ok(swiftshader.features.includes('timestamp-query') && !llvmpipe.features.includes('timestamp-query'));
  for (const a of [swiftshader, llvmpipe]) assert.ok(a.limits.maxStorageBuffersPerShaderStage! >= 8 && a.limits.maxComputeWorkgroupStorageSize! >= 16384);
});

test('auto keeps to WebAssembly here, where both adapters are software; a named adapter takes WebGPU on it', async () => {
  const auto = await createBackend({ backend: 'auto' });
  assert.equal(auto.name, 'wasm');
  (auto as WasmBackend).destroy();
  const named = (await createBackend({ adapter: 'llvmpipe' })) as WebGpuBackend;
  assert.deepEqual([named.name, named.opened.adapter.backend, named.opened.featureLevel], ['webgpu', 'opengles', 'compatibility']);
  named.destroy();
  await assert.rejects(createBackend({ backend: 'wasm', adapter: '0' }), /--adapter 0 picks a WebGPU adapter/);
});
