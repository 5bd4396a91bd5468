// Element-wise comparison against a golden tensor, with the README's tolerance rule.
export interface Comparison {
  maxAbs: number;
  maxRel: number;
  /** Largest |got - want| / (atol + rtol·|want|): at most 1 means within tolerance. */
  worst: number;
  pass: boolean;
}

export function compare(got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-5, rtol = 1e-4): Comparison {
  if (got.length !== want.length) return { maxAbs: Infinity, maxRel: Infinity, worst: Infinity, pass: false };
  let maxAbs = 0;
  let maxRel = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i]! - want[i]!);
    const ref = Math.abs(want[i]!);
    if (!(diff <= maxAbs)) maxAbs = diff;
    const rel = ref > 0 ? diff / ref : diff === 0 ? 0 : Infinity;
    if (!(rel <= maxRel)) maxRel = rel;
    const ratio = diff / (atol + rtol * ref);
    if (!(ratio <= worst)) worst = ratio;
  }
  return { maxAbs, maxRel, worst, pass: worst <= 1 };
}
