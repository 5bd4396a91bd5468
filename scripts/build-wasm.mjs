// Compiles the WebAssembly kernels (wasm/*.c) with clang's wasm32 target into dist/wasm/:
//   kernels.wasm                  one thread, ordinary memory (pages without cross-origin isolation)
//   kernels-threads.wasm          shared memory and atomics, for the worker pool
//   kernels[-threads]-relaxed.wasm  the same with relaxed SIMD (fused multiply-add, wasm/kernels.h's
//                                 madd), loaded where the engine validates it (runtime/wasm/module.ts)
// Skips the compile when every output is newer than every source. Needs clang and lld 16 or newer for
// the relaxed builds (older ones emit relaxed SIMD's pre-standard opcodes, which engines refuse):
// Debian's clang-16 and lld-16 (scripts/setup.sh). With only an older clang the plain builds are made
// and the relaxed ones left out, said once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'wasm');
const outDir = join(root, 'dist', 'wasm');
const sources = readdirSync(sourceDir).filter((f) => f.endsWith('.c')).sort().map((f) => join(sourceDir, f));
const inputs = [...sources, ...readdirSync(sourceDir).filter((f) => f.endsWith('.h')).map((f) => join(sourceDir, f)), fileURLToPath(import.meta.url)];
const RELAXED_SINCE = 16;

const common = [
  '--target=wasm32', '-O3', '-std=c11', '-Wall', '-Wextra', '-Werror',
  '-msimd128', '-mbulk-memory', '-mmutable-globals', '-nostdlib', '-ffreestanding',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--max-memory=4294967296', '-Wl,--stack-first',
  '-Wl,-z,stack-size=4194304', '-Wl,--export=__heap_base', '-Wl,--export=__stack_pointer',
];
const threads = ['-matomics', '-DSGAS_THREADS', '-Wl,--shared-memory'];
const variants = [
  { file: 'kernels.wasm', flags: [] },
  { file: 'kernels-threads.wasm', flags: threads },
  { file: 'kernels-relaxed.wasm', flags: ['-mrelaxed-simd'], relaxed: true },
  { file: 'kernels-threads-relaxed.wasm', flags: [...threads, '-mrelaxed-simd'], relaxed: true },
];

/** clang's major version, or 0 where the command is missing. */
function clangVersion(command) {
  try {
    const banner = execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return Number(/clang version (\d+)/.exec(banner)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// The newest clang on PATH: Debian installs versioned ones (clang-16) beside the default (clang).
const candidates = ['clang', ...[21, 20, 19, 18, 17, 16].map((v) => `clang-${v}`)];
const [clang, version] = candidates.map((c) => [c, clangVersion(c)]).sort((a, b) => b[1] - a[1])[0];
if (!version) {
  console.error('build-wasm: clang not found; install Debian\'s clang-16 and lld-16 (bash scripts/setup.sh, or apt-get install clang-16 lld-16)');
  process.exit(1);
}
const relaxed = version >= RELAXED_SINCE;
const wanted = variants.filter((v) => relaxed || !v.relaxed);

const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
const stale = wanted.filter((v) => !existsSync(join(outDir, v.file)) || statSync(join(outDir, v.file)).mtimeMs < newest);
if (stale.length) {
  mkdirSync(outDir, { recursive: true });
  if (!relaxed) {
    console.error(`build-wasm: ${clang} is clang ${version}; the relaxed-SIMD builds need clang ${RELAXED_SINCE}+ (apt-get install clang-16 lld-16), so only the plain ones are built`);
    // An old relaxed build would not match these sources.
    for (const v of variants.filter((v) => v.relaxed)) rmSync(join(outDir, v.file), { force: true });
  }
  for (const v of stale) {
    try {
      execFileSync(clang, [...common, ...v.flags, '-o', join(outDir, v.file), ...sources], { stdio: 'inherit' });
    } catch {
      console.error(`build-wasm: compiling ${v.file} with ${clang} failed (its messages above)`);
      process.exit(1);
    }
  }
}
