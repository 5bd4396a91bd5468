// How a sweep's jobs are shown: a running job's progress in one line.
import { formatDuration } from '../cli/progress.ts';
import type { JobProgress } from './runJob.ts';

/** "epoch 3/9 step 2/4  loss 2.0131  acc 23.4%  eta 00:12" (the step left out between epochs). */
export function describeProgress(p: JobProgress): string {
  const step = p.saved ? '' : ` step ${p.step}/${p.steps}`;
  const accuracy = p.accuracy === undefined ? '' : `  acc ${(100 * p.accuracy).toFixed(1)}%`;
  return `epoch ${p.epoch + 1}/${p.epochs}${step}  loss ${p.loss.toFixed(4)}${accuracy}  eta ${formatDuration(p.eta ?? Infinity)}`;
}
