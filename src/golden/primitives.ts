// Forward builders for the golden cases of the search-space operations: the eight primitives,
// the cell blocks and MixedOp, built from the same modules the search network uses.
import { batchNorm, conv2d, globalAvgPool, reshape, softmax } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { buildOperation, FactorizedReduce, ReluConvBn, type OpContext } from '../nn/operations.ts';
import { MixedOp } from '../search/model.ts';
import { isOpName } from '../search/space.ts';
import type { CaseTensors, ForwardBuilder } from './opCases.ts';

const context = (t: CaseTensors): OpContext => ({ backend: t.backend, rng: new Rng(0), affine: false });
const num = (t: CaseTensors, field: string) => t.c[field] as number;

const primitive: ForwardBuilder = (t) => {
  const op = t.c.op!;
  if (!isOpName(op)) throw new Error(`unknown primitive '${op}'`);
  const module = buildOperation(op, context(t), num(t, 'C'), num(t, 'stride'), t.c.pool_followed_by_bn as boolean);
  t.load(module);
  return { y: module.forward(t.input('x')) };
};

export const primitiveForwards: Record<string, ForwardBuilder> = Object.fromEntries(
  ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'].map((op) => [op, primitive]),
);

const weightShape = (t: CaseTensors, name: string) => t.c.weights[name]!.shape;

export const cellBlockForwards: Record<string, ForwardBuilder> = {
  relu_conv_bn: (t) => {
    const [cout, cin] = weightShape(t, 'conv') as [number, number];
    const module = new ReluConvBn(context(t), cin, cout);
    t.load(module);
    return { y: module.forward(t.input('x')) };
  },
  factorized_reduce: (t) => {
    const [half, cin] = weightShape(t, 'conv1') as [number, number];
    const module = new FactorizedReduce(context(t), cin, 2 * half);
    t.load(module);
    return { y: module.forward(t.input('x')) };
  },
  batchnorm: (t) => ({ y: batchNorm(t.input('x'), { training: true }) }),
  stem: (t) => ({
    y: batchNorm(conv2d(t.input('x'), t.weight('conv'), { pad: 1 }), { training: true, gamma: t.weight('gamma'), beta: t.weight('beta') }),
  }),
  global_avg_pool: (t) => ({ y: globalAvgPool(t.input('x')) }),
};

export const mixedOpForward: ForwardBuilder = (t) => {
  const module = new MixedOp(context(t), num(t, 'C'), num(t, 'stride'));
  t.load(module);
  const alphas = t.input('alphas');
  const weights = softmax(reshape(alphas, [1, alphas.size]));
  return { y: module.forward(t.input('x'), -1, weights), softmax_weights: weights };
};
