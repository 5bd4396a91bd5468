// Paints at most once per animation frame: a burst of steps (hundreds a second on a small
// network) redraws the page once, with the latest state. A hidden tab paints nothing until shown.
export class Frames {
  private readonly pending = new Map<string, () => void>();
  private frame = 0;

  /** Runs `paint` in the next frame, in place of any paint queued under the same name. */
  paint(name: string, paint: () => void): void {
    this.pending.set(name, paint);
    this.frame ||= requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = 0;
    const paints = [...this.pending.values()];
    this.pending.clear();
    for (const paint of paints) paint();
  }
}
