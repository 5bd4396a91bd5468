// PyTorch CPU as a peer measured in the same bench run (bench/torch_peer.py): one Python process,
// started once at our wasm backend's thread count, answering one JSON line per command. Its times
// are taken in Python around the work alone, so the pipe's round trip is not in them.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_peer.py');
// pyenv's shims put a torch-less python3 first on PATH on some machines; Debian's python3-torch is /usr/bin's.
const PYTHONS = [process.env.SGAS_BENCH_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter((p): p is string => Boolean(p));

export const TORCH_HINT =
  'install PyTorch for a Python on this machine (Debian: apt-get install --no-install-recommends python3-torch libopenblas0-openmp; ' +
  'or bash scripts/setup.sh --bench), or point SGAS_BENCH_PYTHON at a Python that has it';

export interface TorchInfo {
  python: string;
  version: string;
  threads: number;
  mkldnn: boolean;
  /**
   * OpenMP's OMP_WAIT_POLICY, from the environment: its default spins between parallel regions,
   * which on a machine busy with other work slows PyTorch 10× and more; PASSIVE sleeps instead, as
   * our worker pool does, but wakes slower. Left as the caller set it, and printed; between commands
   * the process is stopped, so its spinning never overlaps our side (see ask).
   */
  ompWaitPolicy: string;
}

type Answer = Record<string, unknown> & { error?: string };

export class TorchPeer {
  private readonly answers: ((answer: Answer) => void)[] = [];
  private nextId = 0;
  /** Why the process is gone, once it is: every later command fails with it at once. */
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly info: TorchInfo) {}

  /** A Python that imports torch, or why there is none. */
  static findPython(): { python: string } | { missing: string } {
    const tried: string[] = [];
    for (const python of PYTHONS) {
      const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
      if (probe.status === 0) return { python };
      tried.push(python);
    }
    return { missing: `no Python with torch found (tried ${tried.join(', ')})` };
  }

  static async start(threads: number): Promise<TorchPeer | { missing: string }> {
    const found = TorchPeer.findPython();
    if ('missing' in found) return found;
    const child = spawn(found.python, [SCRIPT, '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    // A bench that ends without close() (an error) must not leave the peer stopped for ever: continued,
    // it reads the end of its stdin and exits.
    const wake = () => child.kill('SIGCONT');
    process.once('exit', wake);
    child.once('exit', () => process.removeListener('exit', wake));
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const peer = new TorchPeer(child, { python: found.python, version: '', threads: 0, mkldnn: false, ompWaitPolicy: '' });
    createInterface({ input: child.stdout }).on('line', (line) => peer.answers.shift()?.(JSON.parse(line) as Answer));
    // 'close', not 'exit': by then stderr has been read to its end.
    child.on('close', (code, signal) => {
      const last = stderr.trim().split('\n').at(-1);
      peer.exited = `PyTorch peer exited (${signal ?? code})${last ? `: ${last}` : ''}`;
      for (const answer of peer.answers.splice(0)) answer({ error: peer.exited });
    });
    // A command written as the process dies fails with EPIPE; the 'close' above answers it with why.
    child.stdin.on('error', () => {});
    const info = await peer.ask({ cmd: 'info' });
    Object.assign(peer.info, { version: info.version, threads: info.threads, mkldnn: info.mkldnn, ompWaitPolicy: info.ompWaitPolicy });
    return peer;
  }

  /**
   * Sends a command and waits for its answer; an error the script reports is thrown here. Between
   * commands the process is stopped (SIGSTOP): OpenMP's default wait policy keeps PyTorch's idle
   * threads spinning, which took a core from our side at 2 threads and doubled our times; stopped,
   * they take none, and each side runs at its own defaults.
   */
  async ask(command: Record<string, unknown>): Promise<Answer> {
    if (this.exited) throw new Error(`pytorch: ${this.exited}`);
    const answer = await new Promise<Answer>((resolve) => {
      this.answers.push(resolve);
      this.child.kill('SIGCONT');
      this.child.stdin.write(JSON.stringify(command) + '\n');
    });
    this.child.kill('SIGSTOP');
    if (answer.error) throw new Error(`pytorch: ${answer.error}`);
    return answer;
  }

  /** A case kept in the Python process under a fresh id; `run(part)` times one part there. */
  async prepare(command: Record<string, unknown>): Promise<{ run(part: string): Promise<number>; release(): Promise<void> }> {
    const id = `c${this.nextId++}`;
    await this.ask({ ...command, id });
    return {
      run: async (part) => (await this.ask({ cmd: 'run', id, part })).ms as number,
      release: async () => void (await this.ask({ cmd: 'release', id })),
    };
  }

  async gemmGflops(n: number): Promise<number> {
    return (await this.ask({ cmd: 'gemm', n, reps: 1 })).gflops as number;
  }

  close(): void {
    this.child.kill('SIGCONT');
    this.child.stdin.end();
  }
}
