// Timing one kernel call on the device from the CPU: dispatches on scratch buffers of the call's
// sizes, submitted and awaited. The autotune compares variants so; the profiler times kernels so
// where the device has no timestamp queries.
import type { KernelCall, Storage } from './backend.ts';

/** The device work a timing needs, done by the WebGPU backend. */
export interface TimingDevice {
  alloc(length: number): Storage;
  release(storage: Storage): void;
  write(storage: Storage, data: Float32Array): void;
  /** Runs a call as one of its kernel's variants ('plain': as it is). */
  runVariant(call: KernelCall, variant: string): void;
  sync(): Promise<void>;
}

/** Runs `work` with a copy of the call on zeroed scratch buffers of its sizes (its own buffers keep their data). */
export async function withScratch<T>(device: TimingDevice, call: KernelCall, work: (scratch: KernelCall) => Promise<T>): Promise<T> {
  const zeroed = (s: Storage) => {
    const storage = device.alloc(s.length);
    device.write(storage, new Float32Array(s.length));
    return storage;
  };
  const scratch = { ...call, inputs: call.inputs.map(zeroed), outputs: call.outputs.map(zeroed) };
  try {
    return await work(scratch);
  } finally {
    for (const s of [...scratch.inputs, ...scratch.outputs]) device.release(s);
  }
}

/** Milliseconds per dispatch of `dispatches` dispatches in one submit, from submit to the queue reporting them done. */
export async function timeCall(device: TimingDevice, call: KernelCall, variant: string, dispatches: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < dispatches; i++) device.runVariant(call, variant);
  await device.sync();
  return (performance.now() - start) / dispatches;
}
