// An f32 tensor: a shape, a backend buffer and, for parameters, a gradient.
import type { Backend, Storage } from './backend.ts';
import { ShapeError } from './errors.ts';
import { Tape } from './tape.ts';

export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export class Tensor {
  readonly size: number;
  /** True for parameters and for every op output that depends on one while a tape records. */
  requiresGrad = false;
  /** Accumulated gradient of a parameter (null until a backward pass reaches it). */
  grad: Tensor | null = null;
  private released = false;

  constructor(
    readonly backend: Backend,
    readonly shape: Shape,
    readonly storage: Storage,
    readonly name = '',
  ) {
    this.size = sizeOf(shape);
  }

  static empty(backend: Backend, shape: Shape, name = ''): Tensor {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape.join(', ')}]`);
    const t = new Tensor(backend, shape, backend.alloc(Math.max(1, sizeOf(shape))), name);
    Tape.current?.own(t);
    return t;
  }

  static from(backend: Backend, data: ArrayLike<number>, shape: Shape, name = ''): Tensor {
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`${name || 'tensor'}: ${data.length} values do not fill shape [${shape.join(', ')}]`);
    }
    const t = Tensor.empty(backend, shape, name);
    backend.write(t.storage, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  static zeros(backend: Backend, shape: Shape, name = ''): Tensor {
    return Tensor.full(backend, shape, 0, name);
  }

  static full(backend: Backend, shape: Shape, value: number, name = ''): Tensor {
    const t = Tensor.empty(backend, shape, name);
    backend.run({ kernel: 'elementwise/fill', inputs: [], outputs: [t.storage], u: [t.size, 0], f: [value], threads: [t.size] });
    return t;
  }

  /** A trainable leaf: kept across steps, never owned by a tape. */
  static parameter(backend: Backend, data: ArrayLike<number>, shape: Shape, name: string): Tensor {
    const t = Tape.outside(() => Tensor.from(backend, data, shape, name));
    t.requiresGrad = true;
    return t;
  }

  get isReleased(): boolean {
    return this.released;
  }

  read(): Promise<Float32Array> {
    return this.backend.read(this.storage);
  }

  async item(): Promise<number> {
    return (await this.read())[0]!;
  }

  write(data: Float32Array): void {
    if (data.length !== this.size) throw new ShapeError(`${this.name || 'tensor'}: writing ${data.length} values into ${this.size}`);
    this.backend.write(this.storage, data);
  }

  /** Same buffer, another shape (no copy); the view must not outlive this tensor. */
  reshape(shape: Shape): Tensor {
    if (sizeOf(shape) !== this.size) {
      throw new ShapeError(`reshape: [${this.shape.join(', ')}] has ${this.size} values, [${shape.join(', ')}] needs ${sizeOf(shape)}`);
    }
    return new Tensor(this.backend, shape, this.storage, this.name);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.backend.release(this.storage);
  }

  toString(): string {
    return `Tensor(${this.name ? this.name + ' ' : ''}[${this.shape.join(', ')}])`;
  }
}
