// The one way ops talk to a backend: tensors in, tensors out, scalar parameters.
import type { Tensor } from '../tensor.ts';

export interface LaunchParams {
  u?: number[];
  f?: number[];
  /** The call's floating-point work (see KernelCall.flops). */
  flops?: number;
}

export function launch(
  kernel: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  params: LaunchParams,
  threads: [number, number?, number?],
): void {
  const backend = (outputs[0] ?? inputs[0])!.backend;
  backend.run({
    kernel,
    inputs: inputs.map((t) => t.storage),
    outputs: outputs.map((t) => t.storage),
    u: params.u,
    f: params.f,
    threads,
    flops: params.flops,
  });
}
