// Mesa's "XDG_RUNTIME_DIR is invalid or not set" lines, printed while Dawn looks for adapters where
// that variable is unset or relative (sudo, cron, CI, containers), stay out of the user's terminal.
// EGL_PLATFORM=wayland makes Mesa's EGL take its Wayland path, where the line comes from.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { root } from './helpers/cli.ts';

const MESA_LINE = /XDG_RUNTIME_DIR is invalid or not set/;

/** stderr and stdout of a module script run the way the tests run (tsx), with XDG_RUNTIME_DIR as given. */
async function probe(script: string, xdg: string | undefined): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, EGL_PLATFORM: 'wayland' };
  if (xdg === undefined) delete env.XDG_RUNTIME_DIR;
  else env.XDG_RUNTIME_DIR = xdg;
  return promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env });
}

const DAWN_ALONE = `
import { create } from 'webgpu';
await create(['backend=opengles']).requestAdapter({ featureLevel: 'compatibility' });`;

const OUR_DISCOVERY = `
import { listNodeAdapters } from './runtime/nodeGpu.ts';
await listNodeAdapters();
console.log(process.env.XDG_RUNTIME_DIR);`;

test('adapter discovery prints none of Mesa\'s XDG_RUNTIME_DIR lines, and cleans up the folder it uses', async (t) => {
  if (!MESA_LINE.test((await probe(DAWN_ALONE, undefined)).stderr)) {
    t.skip('Mesa here prints no XDG_RUNTIME_DIR line (no Wayland client library): nothing to keep out');
    return;
  }
  for (const xdg of [undefined, '', 'relative/run']) {
    const { stdout, stderr } = await probe(OUR_DISCOVERY, xdg);
    assert.doesNotMatch(stderr, MESA_LINE, `XDG_RUNTIME_DIR ${xdg === undefined ? 'unset' : `'${xdg}'`}`);
    const used = stdout.trim();
    assert.match(used, /sgas-xdg-/);
    assert.equal(existsSync(used), false, 'the private folder is removed at exit');
  }
  const own = (await probe(OUR_DISCOVERY, root)).stdout.trim();
  assert.equal(own, root, 'a valid XDG_RUNTIME_DIR is left as it is');
});
