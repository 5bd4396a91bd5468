// Same-shape elementwise ops and the in-place helpers the tape and optimizers use.
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

function sameShape(op: string, a: Tensor, b: Tensor): void {
  checkShape(op, a.size === b.size && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]), () =>
    `shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
}

function binary(entry: 'add' | 'mul', a: Tensor, b: Tensor): Tensor {
  sameShape(entry, a, b);
  const out = Tensor.empty(a.backend, a.shape);
  launch(`elementwise/${entry}`, [a, b], [out], { u: [a.size, 0], f: [0], flops: a.size }, [a.size]);
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = binary('add', a, b);
  Tape.record('add', [a, b], [out], ([g]) => [g!, g!], []);
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binary('mul', a, b);
  Tape.record('mul', [a, b], [out], ([g]) => [binary('mul', g!, b), binary('mul', g!, a)]);
  return out;
}

function scaled(a: Tensor, s: number): Tensor {
  const out = Tensor.empty(a.backend, a.shape);
  launch('elementwise/scale', [a], [out], { u: [a.size, 0], f: [s], flops: a.size }, [a.size]);
  return out;
}

export function scale(a: Tensor, s: number): Tensor {
  const out = scaled(a, s);
  Tape.record('scale', [a], [out], ([g]) => [scaled(g!, s)], []);
  return out;
}

export function relu(x: Tensor): Tensor {
  const out = Tensor.empty(x.backend, x.shape);
  launch('elementwise/relu_forward', [x], [out], { u: [x.size, 0], f: [0], flops: x.size }, [x.size]);
  Tape.record('relu', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('elementwise/relu_backward', [x, g!], [dx], { u: [x.size, 0], f: [0], flops: x.size }, [x.size]);
    return [dx];
  });
  return out;
}

/** A view with another shape; gradients flow back through it unchanged. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const out = x.reshape(shape);
  Tape.record('reshape', [x], [out], ([g]) => [g!.reshape(x.shape)], []);
  return out;
}

/** target += s * x, in place, never recorded. */
export function axpyInPlace(target: Tensor, x: Tensor, s = 1): void {
  sameShape('axpy', target, x);
  launch('elementwise/axpy', [x], [target], { u: [x.size, 0], f: [s], flops: 2 * x.size }, [x.size]);
}

export function copyInto(target: Tensor, x: Tensor): void {
  sameShape('copy', target, x);
  launch('elementwise/copy', [x], [target], { u: [x.size, 0], f: [0] }, [x.size]);
}

export function fillInPlace(target: Tensor, value: number): void {
  launch('elementwise/fill', [], [target], { u: [target.size, 0], f: [value] }, [target.size]);
}

// Gradient bookkeeping for the tape: kept here so runtime/tape.ts knows no kernels.
Tape.accumulator = {
  add: (a, b) => binary('add', a, b),
  addInto: (target, g) => axpyInPlace(target, g),
  ones: (like) => Tensor.full(like.backend, like.shape, 1),
  accumulateInto(param, g) {
    if (param.grad) return axpyInPlace(param.grad, g);
    param.grad = Tape.outside(() => Tensor.empty(param.backend, param.shape, `${param.name}.grad`));
    copyInto(param.grad, g);
  },
};
