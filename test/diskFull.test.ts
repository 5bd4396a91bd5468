// A folder that cannot be written and a disk that fills mid-run: one clear line, exit 1, and the
// last good checkpoint intact (a resume on a bigger disk finishes the run). The disks are small
// tmpfs mounts in a private mount namespace (unshare -m, as root); skipped where that is not allowed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeCheckpoint } from '../src/search/checkpoint.ts';
import { buildCli, cli, root } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'sgas-disk-'));
const mountPoint = join(dir, 'disk');
mkdirSync(mountPoint);

/** Runs a bash script in a private mount namespace, where it may mount tmpfs on $DISK. */
function inNamespace(script: string) {
  return spawnSync('unshare', ['-m', 'bash', '-c', script], {
    cwd: root, encoding: 'utf8', env: { ...process.env, DISK: mountPoint, SNAPSHOT: join(dir, 'snapshot'), NODE: process.execPath, SGAS: cli },
  });
}

const probe = inNamespace('mount -t tmpfs -o size=64k tmpfs "$DISK"');
const skip = probe.error || probe.status !== 0 ? `cannot mount a tmpfs in a private mount namespace here (root and unshare needed): ${probe.error?.message ?? probe.stderr.trim()}` : false;

before(buildCli);
after(() => rmSync(dir, { recursive: true, force: true }));

/** The one line sgas printed as its error, and the other stderr lines. */
function failure(stderr: string): string[] {
  return stderr.trimEnd().split('\n').filter((line) => line.startsWith('sgas: '));
}

test('a read-only folder: search and train end with one line naming the folder and the cause', { skip }, () => {
  const { stdout, stderr } = inNamespace(`
    mount -t tmpfs -o size=1m tmpfs "$DISK" && mkdir "$DISK/old" && mount -o remount,ro "$DISK" || exit 99
    "$NODE" "$SGAS" search --preset tiny --out "$DISK/new" --backend wasm; echo "search $?"
    "$NODE" "$SGAS" train --genotype Cri2_CIFAR_Best --max-images 32 --max-test-images 32 --batch-size 16 --out "$DISK/old" --backend wasm; echo "train $?"`);
  assert.equal(stdout, 'search 1\ntrain 1\n', stderr);
  assert.deepEqual(failure(stderr), [
    `sgas: cannot write ${mountPoint}/new: the file system is read-only (EROFS)`,
    `sgas: cannot write ${mountPoint}/old/run.lock: the file system is read-only (EROFS)`,
  ]);
});

test('a disk that fills mid-search: one line, the last good checkpoint intact, and a resume finishes the run', { skip }, () => {
  // 2.2 MB: two 0.78 MB checkpoints and the figures fit; the third checkpoint does not.
  const { stdout, stderr, status } = inNamespace(`
    mount -t tmpfs -o size=2200k tmpfs "$DISK" || exit 99
    "$NODE" "$SGAS" search --preset tiny --out "$DISK/run" --backend wasm; echo "full $?"
    cp -a "$DISK/run" "$SNAPSHOT"
    mount -o remount,size=20m "$DISK" || exit 99
    "$NODE" "$SGAS" search --resume "$DISK/run" --backend wasm 2>&1 >/dev/null | grep -c '^epoch [0-9]/9  train'
    echo "resumed \${PIPESTATUS[0]}"`);
  assert.equal(status, 0, stderr);
  const [full, epochsAfter, resumed] = stdout.trim().split('\n');
  assert.equal(full, 'full 1');
  const lines = failure(stderr);
  assert.equal(lines.length, 1, stderr);
  const saved = decodeCheckpoint<{ records: unknown[] }>(new Uint8Array(readFileSync(join(dir, 'snapshot', 'checkpoint.bin'))), 'snapshot').state.records.length;
  assert.ok(saved >= 1 && saved < 9, `${saved} epochs saved`);
  assert.match(lines[0]!, new RegExp(`^sgas: cannot write ${mountPoint}/run/\\S+: no space left on the device \\(ENOSPC\\); ` +
    `the checkpoint after epoch ${saved} is intact: make room \\(or make the folder writable\\), then sgas search --resume ${mountPoint}/run$`));
  assert.deepEqual(readdirSync(join(dir, 'snapshot')).filter((f) => f.endsWith('.tmp') || f === 'run.lock'), [], 'no temp file or lock left');
  assert.equal(Number(epochsAfter), 9 - saved, 'the resume ran the epochs after the checkpoint');
  assert.equal(resumed, 'resumed 0');
});
