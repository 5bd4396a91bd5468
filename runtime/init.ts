// PyTorch's default initialisations, drawn from our seeded generator.
import type { Rng } from './rng.ts';

/**
 * kaiming_uniform_(a=√5) as nn.Linear / nn.Conv2d use it: U(−b, b) with b = 1/√fan_in
 * (gain √(2/(1+a²)) = √(1/3), times √3 for the uniform bound). Biases use the same bound.
 */
export function kaimingUniform(rng: Rng, size: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}
