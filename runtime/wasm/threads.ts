// The worker pool of the threaded build: each worker instantiates the same module on the shared
// memory, moves its stack pointer to its own stack, and sits in worker_main (wasm/threads.c) until
// threads_stop. Node uses worker_threads; a page uses Workers, which needs cross-origin isolation
// (SharedArrayBuffer), checked by the caller.
import { isNode, nodeBuiltin } from './module.ts';

export interface WorkerPool {
  size: number;
  stop(): void;
}

interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Top of this worker's stack (it grows down). */
  stack: number;
  /** 1, 2, …: which share of each launch's items this worker takes first (the caller's is 0). */
  id: number;
}

// The same body for both hosts; start receives a WorkerStart and ready reports back. A trap in a
// kernel is reported through worker_failed (the launch then throws on the calling thread) and the
// worker goes back to waiting.
const WORKER_BODY = `
function start({ module, memory, stack, id }, ready) {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  exports.__stack_pointer.value = stack;
  ready();
  for (let seen = 0; ; ) {
    try {
      return exports.worker_main(seen, id);
    } catch {
      exports.__stack_pointer.value = stack;
      seen = exports.worker_failed(id);
    }
  }
}`;

const NODE_WORKER = `${WORKER_BODY}
const { workerData, parentPort } = require('node:worker_threads');
start(workerData, () => parentPort.postMessage('ready'));`;

const BROWSER_WORKER = `${WORKER_BODY}
onmessage = (event) => start(event.data, () => postMessage('ready'));`;

/** Starts one worker per stack and resolves once each is about to wait for work. */
export async function startWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, stacks: number[]): Promise<WorkerPool> {
  const stops: (() => void)[] = [];
  await Promise.all(stacks.map(async (stack, i) => {
    const start: WorkerStart = { module, memory, stack, id: i + 1 };
    if (isNode) {
      const { Worker } = await nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
      const worker = new Worker(NODE_WORKER, { eval: true, workerData: start });
      // A pool must not keep the process alive once its work is done.
      worker.unref();
      stops.push(() => void worker.terminate());
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
    } else {
      const url = URL.createObjectURL(new Blob([BROWSER_WORKER], { type: 'text/javascript' }));
      const worker = new Worker(url);
      URL.revokeObjectURL(url);
      stops.push(() => worker.terminate());
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage(start);
      });
    }
  }));
  return { size: stacks.length, stop: () => stops.forEach((stop) => stop()) };
}

/** Threads worth using: the cores, or what the page may use. */
export async function hardwareThreads(): Promise<number> {
  if (isNode) {
    const os = await nodeBuiltin<typeof import('node:os')>('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated ? (globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
}
