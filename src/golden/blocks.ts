// Forward builders for the `blocks` golden cases that the runtime ops cover directly.
import { crossEntropy, linear, softmax, Tensor } from '../../runtime/index.ts';
import type { ForwardBuilder } from './opCases.ts';

export const blockForwards: Record<string, ForwardBuilder> = {
  linear: ({ input, weight }) => ({ y: linear(input('x'), weight('weight'), weight('bias')) }),
  softmax: ({ input }) => ({ y: softmax(input('alphas')) }),
  cross_entropy: ({ c, backend, input }) => {
    const targets = c.targets as number[];
    return { loss: crossEntropy(input('logits'), Tensor.from(backend, targets, [targets.length], 'targets')) };
  },
};
