// Rows [start, start + count) of a tensor along its first axis, as a new tensor.
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

export function sliceRows(x: Tensor, start: number, count: number): Tensor {
  const rows = x.shape[0] ?? 0;
  checkShape('slice_rows', Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count > 0 && start + count <= rows, () =>
    `rows ${start}..${start + count} are outside [${x.shape.join(', ')}]`);
  const rowSize = x.size / rows;
  const out = Tensor.empty(x.backend, [count, ...x.shape.slice(1)]);
  const offset = start * rowSize;
  launch('elementwise/slice_forward', [x], [out], { u: [out.size, offset], f: [0] }, [out.size]);
  Tape.record('slice_rows', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('elementwise/slice_backward', [g!], [dx], { u: [x.size, offset], f: [out.size] }, [x.size]);
    return [dx];
  }, []);
  return out;
}
