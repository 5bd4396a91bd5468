// Row softmax over the last axis (edge weights from alphas).
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

export function softmax(x: Tensor): Tensor {
  checkShape('softmax', x.shape.length >= 1 && x.size > 0, () => `needs a non-empty tensor, got [${x.shape.join(', ')}]`);
  const cols = x.shape[x.shape.length - 1]!;
  const rows = x.size / cols;
  const out = Tensor.empty(x.backend, x.shape);
  launch('softmax/softmax_forward', [x], [out], { u: [rows, cols], f: [0] }, [rows]);
  Tape.record('softmax', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('softmax/softmax_backward', [out, g!], [dx], { u: [rows, cols], f: [0] }, [rows]);
    return [dx];
  }, [out]);
  return out;
}
