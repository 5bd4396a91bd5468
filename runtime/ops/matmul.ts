// Matrix products on the strided GEMM kernel (shaders/matmul.wgsl).
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { registerVariants } from '../kernelVariants.ts';
import { launch } from './launch.ts';

// Its grid is the plain kernel's: the same invocations, their workgroup staging A and B together.
registerVariants('matmul/gemm', [{ name: 'tiled', prepare: (call) => ({ ...call, kernel: 'matmul/gemm_tiled' }) }]);

/** Strided view of one GEMM operand: element (row, k) or (k, col) lives at b*batch + row*r + ko*kOuter + ki*k. */
export interface Gemm {
  M: number;
  N: number;
  /** K = KI * KO: the reduction may run over two strided axes (e.g. batch and pixels). */
  KI: number;
  KO?: number;
  batch?: number;
  a: { batch?: number; m: number; k: number; ko?: number };
  b: { batch?: number; k: number; n: number; ko?: number };
  c: { batch?: number; m: number };
  accumulate?: boolean;
}

export function gemm(A: Tensor, B: Tensor, C: Tensor, g: Gemm): void {
  const u = [
    g.M, g.N, g.KI, g.KO ?? 1,
    g.a.batch ?? 0, g.a.m, g.a.k, g.a.ko ?? 0,
    g.b.batch ?? 0, g.b.k, g.b.n, g.b.ko ?? 0,
    g.c.batch ?? 0, g.c.m, g.accumulate ? 1 : 0, 0,
  ];
  const flops = 2 * g.M * g.N * g.KI * (g.KO ?? 1) * (g.batch ?? 1) + (g.accumulate ? g.M * g.N * (g.batch ?? 1) : 0);
  launch('matmul/gemm', [A, B], [C], { u, flops }, [Math.ceil(g.N / 4), Math.ceil(g.M / 4), g.batch ?? 1]);
}

/** C = op(A) · op(B) for 2-D tensors; trans flags read the stored matrix transposed. */
export function matmulRaw(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const [ar, ac] = a.shape as [number, number];
  const [br, bc] = b.shape as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  checkShape('matmul', a.shape.length === 2 && b.shape.length === 2 && K === K2, () =>
    `cannot multiply [${a.shape.join(', ')}]${transA ? 'ᵀ' : ''} by [${b.shape.join(', ')}]${transB ? 'ᵀ' : ''}`);
  const out = Tensor.empty(a.backend, [M, N]);
  gemm(a, b, out, {
    M, N, KI: K,
    a: transA ? { m: 1, k: ac } : { m: ac, k: 1 },
    b: transB ? { k: 1, n: bc } : { k: bc, n: 1 },
    c: { m: N },
  });
  return out;
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  const out = matmulRaw(a, b);
  Tape.record('matmul', [a, b], [out], ([g]) => [
    a.requiresGrad ? matmulRaw(g!, b, false, true) : null,
    b.requiresGrad ? matmulRaw(a, g!, true, false) : null,
  ]);
  return out;
}
