// y = x · Wᵀ + b, PyTorch's nn.Linear layout (W is [out, in]).
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';
import { matmulRaw } from './matmul.ts';
import { sumColumns } from './reduce.ts';

export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  checkShape('linear', x.shape.length === 2 && x.shape[1] === inF && weight.shape.length === 2, () =>
    `input [${x.shape.join(', ')}] does not match weight [${weight.shape.join(', ')}] (expects [batch, ${inF}])`);
  checkShape('linear', !bias || (bias.shape.length === 1 && bias.shape[0] === outF), () =>
    `bias [${bias!.shape.join(', ')}] does not match ${outF} outputs`);
  const rows = x.shape[0]!;
  const product = matmulRaw(x, weight, false, true);
  let out = product;
  if (bias) {
    out = Tensor.empty(x.backend, [rows, outF]);
    launch('elementwise/add_bias', [product, bias], [out], { u: [out.size, outF], f: [0] }, [out.size]);
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  Tape.record('linear', inputs, [out], ([g]) => [
    x.requiresGrad ? matmulRaw(g!, weight) : null,
    weight.requiresGrad ? matmulRaw(g!, x, true, false) : null,
    bias?.requiresGrad ? sumColumns(g!, rows, outF) : null,
  ]);
  return out;
}
