// Kernels with more than one WGSL implementation: the plain one, which suits every device (no
// workgroup memory, no barriers: those are very slow on software Vulkan), and tiled ones that stage
// data in workgroup memory, as real GPUs like. Every variant of a kernel adds the same products in
// the same order, so all give the same bits; which one runs only changes the speed. The op that
// owns a kernel registers its variants; the WebGPU backend runs the one its choice says (KernelChoice).
import type { KernelCall } from './backend.ts';

export interface KernelVariant {
  /** 'plain' is the call as the op made it. */
  name: string;
  /** The call as this variant runs it, or null where its tiles do not fit the call's shapes. */
  prepare(call: KernelCall): KernelCall | null;
}

export type KernelMode = 'plain' | 'tiled' | 'tuned';

/**
 * What a user asks for (--kernels): auto tunes on a real GPU and runs the plain kernels on a
 * software rasterizer (SwiftShader, llvmpipe), where barriers are slow and the plain ones were made
 * for; tune tunes anywhere; plain and tiled force those variants.
 */
export type KernelPolicy = 'auto' | 'tune' | 'plain' | 'tiled';
export const KERNEL_POLICIES: readonly KernelPolicy[] = ['auto', 'tune', 'plain', 'tiled'];

const PLAIN: KernelVariant = { name: 'plain', prepare: (call) => call };
const registry = new Map<string, KernelVariant[]>();

export function registerVariants(kernel: string, variants: KernelVariant[]): void {
  registry.set(kernel, [PLAIN, ...variants]);
}

/** The kernel's variants, plain first; just plain for a kernel that has no others. */
export function variantsOf(kernel: string): KernelVariant[] {
  return registry.get(kernel) ?? [PLAIN];
}

export const isTunable = (call: KernelCall) => registry.has(call.kernel);

/** What identifies a call's shapes (its integer parameters and grid) for the choice and its cache. */
export const shapeKey = (call: KernelCall) => `${call.kernel}:${(call.u ?? []).join(',')}:${call.threads.join('x')}`;

/**
 * Which variant each call runs. plain: always the plain kernel (the default, and what a software
 * adapter is best served by); tiled: a tiled variant wherever one fits (tests check them so);
 * tuned: what the autotune measured fastest for the call's shapes, plain for shapes it did not see.
 */
export class KernelChoice {
  private readonly chosen = new Map<string, string>();

  constructor(public mode: KernelMode = 'plain') {}

  set(key: string, variant: string): void {
    this.chosen.set(key, variant);
  }

  get(key: string): string | undefined {
    return this.chosen.get(key);
  }

  pick(call: KernelCall): KernelCall {
    if (this.mode === 'plain' || !isTunable(call)) return call;
    const variants = variantsOf(call.kernel);
    if (this.mode === 'tiled') {
      for (const v of variants.slice(1)) {
        const prepared = v.prepare(call);
        if (prepared) return prepared;
      }
      return call;
    }
    const name = this.chosen.get(shapeKey(call));
    return (name && variants.find((v) => v.name === name)?.prepare(call)) || call;
  }
}
