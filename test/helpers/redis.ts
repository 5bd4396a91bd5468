// A real redis-server (Debian's, installed by scripts/setup.sh) for a test: on a free loopback
// port, its data and append-only file in a temporary folder, stopped by its pid. restart() kills it
// and starts it again on the same port and folder, as a crash and a supervisor's restart would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const skipRedis = spawnSync('redis-server', ['--version']).error ? 'no redis-server: scripts/setup.sh installs Debian\'s redis-server' : false;

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  readonly pid: number;
  /** SIGKILL, then the same server again from its append-only file. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  // appendfsync always: a killed server loses nothing it acknowledged; noeviction, as BullMQ asks.
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always',
    '--save', '', '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  for (let i = 0; i < 200 && !/Ready to accept connections/.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    await sleep(50);
  }
  if (!/Ready to accept connections/.test(output)) throw new Error(`redis-server did not start: ${output}`);
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, signal);
  await exited;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-redis-'));
  const port = await freePort();
  let child = await launch(port, dir);
  return {
    url: `redis://127.0.0.1:${port}`, port, dir,
    get pid() {
      return child.pid!;
    },
    async restart(downMs = 1000) {
      await kill(child, 'SIGKILL');
      await sleep(downMs);
      child = await launch(port, dir);
    },
    async stop() {
      await kill(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
