// The eight DARTS primitives written in TensorFlow.js (NHWC, its native layout), as src/nn/operations.ts
// builds them for the search network: affine-free BatchNorm after every conv block and every pool.
import type * as Tfjs from '@tensorflow/tfjs';
import type { OpName } from '../src/search/space.ts';

export type Tf = typeof Tfjs;
type T4 = Tfjs.Tensor4D;

export interface TfOperation {
  weights: T4[];
  forward(x: T4, weights: T4[]): T4;
}

const EPS = 1e-5;

// Written out by hand: tf.batchNorm without offset and scale fails under tf.grads (PEERS.md).
function batchNorm(tf: Tf, x: T4): T4 {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)));
}

/** ReLU → depthwise k×k → 1×1 conv → BN; weights [dw, pw]. */
function reluDwPwBn(tf: Tf, x: T4, [dw, pw]: T4[], stride: number, dilation: number): T4 {
  const k = dw.shape[0];
  const pad = (dilation * (k - 1)) / 2;
  const depthwise = tf.depthwiseConv2d(tf.relu(x), dw, stride, pad, 'NHWC', dilation);
  return batchNorm(tf, tf.conv2d(depthwise, pw, 1, 'valid'));
}

/** An operation and its weights, made on the current TF.js backend. */
export function tfOperation(tf: Tf, name: OpName, C: number, stride: number): TfOperation {
  const weight = (k: number, cin: number, cout: number) => tf.randomUniform([k, k, cin, cout], -0.1, 0.1) as T4;
  const dwPw = (k: number) => [weight(k, C, 1), weight(1, C, C)];
  const pool = (kind: 'maxPool' | 'avgPool'): TfOperation => ({
    weights: [],
    forward: (x) => batchNorm(tf, tf[kind](x, 3, stride, 1)),
  });
  const sepConv = (k: number): TfOperation => ({
    weights: [...dwPw(k), ...dwPw(k)],
    forward: (x, w) => reluDwPwBn(tf, reluDwPwBn(tf, x, w.slice(0, 2), stride, 1), w.slice(2), 1, 1),
  });
  const dilConv = (k: number): TfOperation => ({ weights: dwPw(k), forward: (x, w) => reluDwPwBn(tf, x, w, stride, 2) });
  switch (name) {
    case 'none':
      return { weights: [], forward: (x) => tf.zeros([x.shape[0], Math.ceil(x.shape[1] / stride), Math.ceil(x.shape[2] / stride), C]) };
    case 'max_pool_3x3': return pool('maxPool');
    case 'avg_pool_3x3': return pool('avgPool');
    case 'skip_connect':
      if (stride === 1) return { weights: [], forward: (x) => tf.clone(x) };
      // FactorizedReduce: two stride-2 1×1 convs, the second on the input shifted by one pixel.
      return {
        weights: [weight(1, C, C / 2), weight(1, C, C / 2)],
        forward: (x, [w1, w2]) => {
          const r = tf.relu(x);
          const shifted = tf.slice(r, [0, 1, 1, 0], [-1, -1, -1, -1]);
          return batchNorm(tf, tf.concat([tf.conv2d(r, w1!, 2, 'valid'), tf.conv2d(shifted, w2!, 2, 'valid')], 3));
        },
      };
    case 'sep_conv_3x3': return sepConv(3);
    case 'sep_conv_5x5': return sepConv(5);
    case 'dil_conv_3x3': return dilConv(3);
    case 'dil_conv_5x5': return dilConv(5);
  }
}
