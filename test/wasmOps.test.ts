// The per-op gradient checks (forward values, and backward against float64 finite differences) of
// every kernel family, run again on the WebAssembly backend: test/helpers/gpu.ts hands these files
// the backend SGAS_TEST_BACKEND names.
export {};

process.env.SGAS_TEST_BACKEND = 'wasm';
for (const file of ['ops', 'conv', 'pool', 'batchnorm', 'layout', 'optim', 'goldenBlocks', 'mlp', 'errors']) {
  await import(`./${file}.test.ts`);
}
