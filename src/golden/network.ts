// The `network_*` golden set: a whole search network (weights file) checked for logits, loss,
// every weight and alpha gradient (fwd_bwd file), and one Architect step plus one clipped SGD
// step (step file), with the golden README's tolerances.
import { Adam, clipGradNorm, crossEntropy, Sgd, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { Network } from '../search/model.ts';
import { NUM_EDGES, PRIMITIVES, type CellType } from '../search/space.ts';
import { compare } from './compare.ts';
import { f32, type GoldenTensor } from './goldenFile.ts';
import type { TensorResult } from './runner.ts';

interface WeightsFile {
  name: string;
  C: number;
  layers: number;
  stem_multiplier: number;
  num_classes: number;
  N: number;
  H: number;
  W: number;
  normal_selected_idxs: number[];
  reduce_selected_idxs: number[];
  weights: { params: Record<string, GoldenTensor>; alphas_normal: GoldenTensor; alphas_reduce: GoldenTensor };
  data: { x_train: GoldenTensor; y_train: number[]; x_valid: GoldenTensor; y_valid: number[] };
}

interface FwdBwdFile {
  logits_train: GoldenTensor;
  loss_train: number;
  grads: Record<string, GoldenTensor | null>;
  grad_alphas_normal: GoldenTensor;
  grad_alphas_reduce: GoldenTensor;
  logits_valid: GoldenTensor;
  loss_valid: number;
  grad_alphas_normal_valid: GoldenTensor;
  grad_alphas_reduce_valid: GoldenTensor;
}

interface Summary {
  shape: number[];
  sum: number;
  abs_sum: number;
  sq_sum: number;
  head: number[];
}

interface StepFile {
  hyper: {
    lr: number; momentum: number; weight_decay: number; grad_clip: number;
    arch_lr: number; arch_weight_decay: number; arch_betas: [number, number]; adam_eps: number;
  };
  alphas_normal_after_arch_step: GoldenTensor;
  alphas_reduce_after_arch_step: GoldenTensor;
  loss_train_after_arch_step: number;
  grad_total_norm_before_clip: number;
  clip_coef: number;
  grads_after_arch_step: Record<string, Summary | null>;
  params_after_sgd_step: Record<string, Summary>;
  logits_valid_after_both_steps: GoldenTensor;
}

const CELL_TYPES: CellType[] = ['normal', 'reduce'];

/** Builds the file's network with its weights, alphas and edge decisions. */
export function networkFromGolden(backend: Backend, w: WeightsFile): Network {
  const net = new Network(backend, {
    C: w.C, layers: w.layers, classes: w.num_classes, inputChannels: w.data.x_train.shape[1]!, stemMultiplier: w.stem_multiplier,
  }, new Rng(0));
  net.selection.normal.splice(0, NUM_EDGES, ...w.normal_selected_idxs);
  net.selection.reduce.splice(0, NUM_EDGES, ...w.reduce_selected_idxs);
  for (const [name, t] of net.namedParameters()) {
    const g = w.weights.params[name];
    if (!g) throw new Error(`${w.name}: the golden file has no parameter '${name}'`);
    t.write(f32(g));
  }
  const names = new Set(net.namedParameters().map(([n]) => n));
  const extra = Object.keys(w.weights.params).filter((n) => !names.has(n));
  if (extra.length) throw new Error(`${w.name}: our network lacks golden parameters ${extra.slice(0, 3).join(', ')}`);
  for (const type of CELL_TYPES) {
    const alphas = w.weights[`alphas_${type}`].data;
    net.alphas[type].forEach((a, e) => a.write(Float32Array.from(alphas.slice(e * PRIMITIVES.length, (e + 1) * PRIMITIVES.length))));
  }
  return net;
}

/** Mean CE loss and logits of one batch, with gradients into whatever requires them. */
async function lossAndBackward(backend: Backend, net: Network, x: GoldenTensor, y: number[]): Promise<{ logits: Float32Array; loss: number }> {
  const tape = new Tape();
  const { logits, loss } = tape.run(() => {
    const logits = net.forward(Tensor.from(backend, f32(x), x.shape));
    return { logits, loss: crossEntropy(logits, Tensor.from(backend, y, [y.length])) };
  });
  tape.backward(loss);
  const result = { logits: await logits.read(), loss: await loss.item() };
  tape.dispose();
  return result;
}

async function alphaGrads(net: Network, type: CellType): Promise<Float32Array> {
  const out = new Float32Array(NUM_EDGES * PRIMITIVES.length);
  for (let e = 0; e < NUM_EDGES; e++) {
    const g = net.alphas[type][e]!.grad;
    if (g) out.set(await g.read(), e * PRIMITIVES.length);
  }
  return out;
}

function zeroAllGrads(net: Network): void {
  for (const p of [...net.parameters(), ...net.alphaParameters()]) {
    p.grad?.release();
    p.grad = null;
  }
}

export class NetworkChecker {
  readonly results: TensorResult[] = [];

  constructor(private readonly file: string, private readonly caseName: string) {}

  /** Relative tolerance against the largest reference magnitude (gradients: 1e-3·max|b|). */
  scaled(tensor: string, got: ArrayLike<number>, want: ArrayLike<number>, rtolOfMax: number): void {
    let maxRef = 0;
    for (let i = 0; i < want.length; i++) maxRef = Math.max(maxRef, Math.abs(want[i]!));
    const c = compare(got, want, rtolOfMax * maxRef + 1e-12, 0);
    this.results.push({ file: this.file, caseName: this.caseName, tensor, maxAbs: c.maxAbs, maxRel: c.maxRel, pass: c.pass });
  }

  relative(tensor: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol = 1e-7): void {
    const c = compare(got, want, atol, rtol);
    this.results.push({ file: this.file, caseName: this.caseName, tensor, maxAbs: c.maxAbs, maxRel: c.maxRel, pass: c.pass });
  }

  /** A tensor stored as a summary: its first values, its sum and its sum of squares. */
  summary(tensor: string, got: Float32Array, want: Summary, headAtol = 1e-6, sumRtol = 1e-4): void {
    let sum = 0;
    let sq = 0;
    for (const v of got) {
      sum += v;
      sq += v * v;
    }
    const head = compare(got.slice(0, want.head.length), want.head, headAtol, 0);
    // The signed sum cancels, so its tolerance scales with the sum of magnitudes.
    const sums = compare([sum, sq], [want.sum, want.sq_sum], 1e-6 + sumRtol * want.abs_sum, sumRtol);
    this.results.push({
      file: this.file, caseName: this.caseName, tensor, maxAbs: head.maxAbs, maxRel: sums.maxRel, pass: head.pass && sums.pass && got.length === want.shape.reduce((a, b) => a * b, 1),
    });
  }

  fail(tensor: string, error: string): void {
    this.results.push({ file: this.file, caseName: this.caseName, tensor, maxAbs: NaN, maxRel: NaN, pass: false, error });
  }
}

/** Every weight gradient against the reference's (null there: the parameter must get none). */
async function checkGradients<R>(
  net: Network, ref: Record<string, R | null>, group: string, check: NetworkChecker,
  compareOne: (tensor: string, got: Float32Array, want: R) => void,
): Promise<void> {
  for (const [name, p] of net.namedParameters()) {
    const want = ref[name];
    if (want === undefined) continue;
    const tensor = `${group}.${name}`;
    if (want === null) {
      if (p.grad) check.fail(tensor, 'has a gradient but the reference has none (unused parameter)');
    } else if (!p.grad) {
      check.fail(tensor, 'no gradient');
    } else {
      compareOne(tensor, await p.grad.read(), want);
    }
  }
}

export async function checkForwardBackward(backend: Backend, w: WeightsFile, ref: FwdBwdFile, check: NetworkChecker): Promise<void> {
  const net = networkFromGolden(backend, w);
  try {
    net.setRequiresGrad(true, true);
    const train = await lossAndBackward(backend, net, w.data.x_train, w.data.y_train);
    check.relative('logits_train', train.logits, f32(ref.logits_train), 1e-4, 1e-5);
    check.relative('loss_train', [train.loss], [ref.loss_train], 1e-4);
    await checkGradients(net, ref.grads, 'grads', check, (tensor, got, want) => check.scaled(tensor, got, f32(want), 1e-3));
    for (const type of CELL_TYPES) check.scaled(`grad_alphas_${type}`, await alphaGrads(net, type), f32(ref[`grad_alphas_${type}`]), 1e-3);
    zeroAllGrads(net);
    const valid = await lossAndBackward(backend, net, w.data.x_valid, w.data.y_valid);
    check.relative('logits_valid', valid.logits, f32(ref.logits_valid), 1e-4, 1e-5);
    check.relative('loss_valid', [valid.loss], [ref.loss_valid], 1e-4);
    for (const type of CELL_TYPES) {
      check.scaled(`grad_alphas_${type}_valid`, await alphaGrads(net, type), f32(ref[`grad_alphas_${type}_valid`]), 1e-3);
    }
  } finally {
    zeroAllGrads(net);
    net.release();
  }
}

export async function checkStep(backend: Backend, w: WeightsFile, ref: StepFile, check: NetworkChecker): Promise<void> {
  const net = networkFromGolden(backend, w);
  const h = ref.hyper;
  const adam = new Adam(net.alphaParameters(), { lr: h.arch_lr, betas: h.arch_betas, eps: h.adam_eps, weightDecay: h.arch_weight_decay });
  const sgd = new Sgd(net.parameters(), { lr: h.lr, momentum: h.momentum, weightDecay: h.weight_decay });
  try {
    // Architect (first order): alphas from the validation batch.
    net.setRequiresGrad(false, true);
    await lossAndBackward(backend, net, w.data.x_valid, w.data.y_valid);
    adam.step();
    for (const type of CELL_TYPES) {
      const alphas = new Float32Array(NUM_EDGES * PRIMITIVES.length);
      for (let e = 0; e < NUM_EDGES; e++) alphas.set(await net.alphas[type][e]!.read(), e * PRIMITIVES.length);
      check.relative(`alphas_${type}_after_arch_step`, alphas, f32(ref[`alphas_${type}_after_arch_step`]), 0, 1e-6);
    }
    zeroAllGrads(net);
    // Weight step: train batch with the new alphas, clipped SGD.
    net.setRequiresGrad(true, false);
    const train = await lossAndBackward(backend, net, w.data.x_train, w.data.y_train);
    check.relative('loss_train_after_arch_step', [train.loss], [ref.loss_train_after_arch_step], 1e-4);
    await checkGradients(net, ref.grads_after_arch_step, 'grads_after_arch_step', check, (tensor, got, want) =>
      check.summary(tensor, got, want, 1e-3 * Math.max(...want.head.map(Math.abs)) + 1e-9, 1e-3));
    const normCoef = clipGradNorm(net.parameters(), h.grad_clip)!;
    const [norm, coef] = await normCoef.read();
    normCoef.release();
    // Both follow from every gradient, so they get the gradients' 1e-3 relative tolerance.
    check.relative('grad_total_norm_before_clip', [norm!], [ref.grad_total_norm_before_clip], 1e-3);
    check.relative('clip_coef', [coef!], [Math.min(1, ref.clip_coef)], 1e-3);
    sgd.step();
    for (const [name, p] of net.namedParameters()) {
      const want = ref.params_after_sgd_step[name];
      if (want) check.summary(`params_after_sgd_step.${name}`, await p.read(), want);
    }
    zeroAllGrads(net);
    net.setRequiresGrad(false, false);
    const after = await lossAndBackward(backend, net, w.data.x_valid, w.data.y_valid);
    check.relative('logits_valid_after_both_steps', after.logits, f32(ref.logits_valid_after_both_steps), 1e-4, 1e-5);
  } finally {
    zeroAllGrads(net);
    adam.release();
    sgd.release();
    net.release();
  }
}

export type { FwdBwdFile, StepFile, WeightsFile };

/** Runs a weights file with its fwd_bwd and step siblings. */
export async function runNetworkSet(
  backend: Backend, weights: WeightsFile, file: string, readSibling: (suffix: string) => Promise<unknown>,
): Promise<TensorResult[]> {
  const check = new NetworkChecker(file, weights.name);
  const runs: [string, (ref: never) => Promise<void>][] = [
    ['_fwd_bwd.json', (ref: FwdBwdFile) => checkForwardBackward(backend, weights, ref, check)],
    ['_step.json', (ref: StepFile) => checkStep(backend, weights, ref, check)],
  ];
  for (const [suffix, run] of runs) {
    let ref: unknown;
    try {
      ref = await readSibling(suffix);
    } catch (e) {
      check.fail(suffix, (e as Error).message);
      continue;
    }
    try {
      await run(ref as never);
    } catch (e) {
      check.fail(suffix, (e as Error).message);
    }
  }
  return check.results;
}
