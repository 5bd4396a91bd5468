// What the training loops (search, evaluation training, MLP) share: how they report, and how
// they count correct predictions.

/** Progress after one step; loss and accuracy are running means over the epoch so far. */
export interface LoopStep {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  lr: number;
}

/** An epoch stopped after one of its steps: what its remaining steps need to run as they would have. */
export interface StoppedEpoch {
  epoch: number;
  /** Steps done. */
  step: number;
  steps: number;
  /** The generator's state before it drew the epoch's data order, which it draws again from here. */
  orderRng: number[];
  lossSum: number;
  correct: number;
  seconds: number;
}

export interface LoopObserver<Step, Epoch> {
  step?(info: Step): void | Promise<void>;
  epoch?(record: Epoch): void | Promise<void>;
  /** After every epoch: the bytes to store atomically; resuming from them continues exactly. */
  checkpoint?(bytes: Uint8Array, epoch: number): void | Promise<void>;
}

/** Rows of [batch, classes] logits whose first maximum is the label. */
export function countCorrect(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  const classes = logits.length / labels.length;
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    if (best === labels[r]) correct++;
  }
  return correct;
}
