// Every WGSL family, bundled as text (esbuild's text loader; scripts/wgsl-hook.mjs under Node).
import common from '../shaders/common.wgsl';
import elementwise from '../shaders/elementwise.wgsl';
import batchnorm from '../shaders/batchnorm.wgsl';
import clip from '../shaders/clip.wgsl';
import conv from '../shaders/conv.wgsl';
import droppath from '../shaders/droppath.wgsl';
import layout from '../shaders/layout.wgsl';
import matmul from '../shaders/matmul.wgsl';
import optim from '../shaders/optim.wgsl';
import pool from '../shaders/pool.wgsl';
import reduce from '../shaders/reduce.wgsl';
import softmax from '../shaders/softmax.wgsl';

const families: Record<string, string> = { batchnorm, clip, conv, droppath, elementwise, layout, matmul, optim, pool, reduce, softmax };

/** Registers a kernel family at run time (tests use it to feed a broken shader). */
export function registerShader(family: string, source: string): void {
  families[family] = source;
}

export function shaderSource(family: string): string {
  const source = families[family];
  if (source === undefined) throw new Error(`unknown kernel family '${family}' (no shaders/${family}.wgsl registered in runtime/shaders.ts)`);
  // Appended, not prepended, so compiler line numbers still match the family's own file.
  return `${source}\n${common}`;
}

/** The value of `const NAME = N;` (or `Nu`, or typed) in WGSL source, or null. */
export function constantIn(source: string, name: string): number | null {
  const match = new RegExp(`const\\s+${name}\\s*(?::\\s*\\w+)?\\s*=\\s*(\\d+)u?\\s*;`).exec(source);
  return match ? Number(match[1]) : null;
}

/** A constant of a kernel family: sizes a host-side plan must agree with. */
export function shaderConstant(family: string, name: string): number {
  const value = constantIn(shaderSource(family), name);
  if (value === null) throw new Error(`shaders/${family}.wgsl declares no constant ${name}`);
  return value;
}
