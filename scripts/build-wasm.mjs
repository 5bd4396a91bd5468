// Compiles the WebAssembly kernels (wasm/*.c) with clang's wasm32 target into dist/wasm/:
//   kernels.wasm          one thread, ordinary memory (pages without cross-origin isolation)
//   kernels-threads.wasm  shared memory and atomics, for the worker pool
// Skips the compile when both are newer than every source. Needs Debian's clang and lld (scripts/setup.sh).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'wasm');
const outDir = join(root, 'dist', 'wasm');
const sources = readdirSync(sourceDir).filter((f) => f.endsWith('.c')).sort().map((f) => join(sourceDir, f));
const inputs = [...sources, ...readdirSync(sourceDir).filter((f) => f.endsWith('.h')).map((f) => join(sourceDir, f)), fileURLToPath(import.meta.url)];

const common = [
  '--target=wasm32', '-O3', '-std=c11', '-Wall', '-Wextra', '-Werror',
  '-msimd128', '-mbulk-memory', '-mmutable-globals', '-nostdlib', '-ffreestanding',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--max-memory=4294967296', '-Wl,--stack-first',
  '-Wl,-z,stack-size=4194304', '-Wl,--export=__heap_base', '-Wl,--export=__stack_pointer',
];
const variants = [
  { file: 'kernels.wasm', flags: [] },
  { file: 'kernels-threads.wasm', flags: ['-matomics', '-DSGAS_THREADS', '-Wl,--shared-memory'] },
];

const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
const stale = variants.filter((v) => !existsSync(join(outDir, v.file)) || statSync(join(outDir, v.file)).mtimeMs < newest);
if (stale.length) {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('build-wasm: clang not found; install Debian\'s clang and lld (bash scripts/setup.sh, or apt-get install clang lld)');
    process.exit(1);
  }
  mkdirSync(outDir, { recursive: true });
  for (const v of stale) {
    try {
      execFileSync('clang', [...common, ...v.flags, '-o', join(outDir, v.file), ...sources], { stdio: 'inherit' });
    } catch {
      console.error(`build-wasm: compiling ${v.file} failed (clang's messages above)`);
      process.exit(1);
    }
  }
}
