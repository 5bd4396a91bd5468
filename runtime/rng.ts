// Seeded PRNG whose whole state is a short array of numbers, so a checkpoint can
// store it and a resumed run draws exactly the numbers the uninterrupted run would.
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna), 128-bit state, period 2^128 - 1.
// Seeding: splitmix32 expands the seed into the four state words, as the authors
// recommend, so nearby seeds give unrelated streams and the state is never all zero.

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  // Box–Muller yields normals in pairs; the second one waits here and is part of the state.
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`Rng: seed must be a safe integer, got ${seed}`);
    // Fold the high bits in so seeds above 2^32 do not collide with their low 32 bits.
    const high = Math.floor(seed / TWO_POW_32);
    const next = splitmix32((seed ^ Math.imul(high, 0x85ebca6b)) | 0);
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Raw 32-bit output, an integer in [0, 2^32). */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float64 in [0, 1) with all 53 mantissa bits random (two 32-bit draws). */
  next(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal N(0, 1) by the Box–Muller transform. */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = 1 - this.next(); // (0, 1], so the log is finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Uniform integer in [0, n). The bias of floor(next()·n) is below 2^-21 for n < 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<A extends { length: number; [i: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * Everything needed to resume the stream: the four state words, then the pending
   * Box–Muller normal (or nothing). Plain numbers, so JSON round-trips it exactly.
   */
  state(): number[] {
    const words = [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
    return this.spareNormal === null ? words : [...words, this.spareNormal];
  }

  static fromState(s: readonly number[]): Rng {
    const words = s.slice(0, 4);
    const valid =
      (s.length === 4 || (s.length === 5 && Number.isFinite(s[4]))) &&
      words.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) &&
      words.some((w) => w !== 0);
    if (!valid) {
      throw new Error(
        `Rng.fromState: expected 4 uint32 words (not all zero) and an optional pending normal, got ${JSON.stringify(s)}`,
      );
    }
    const rng = new Rng(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = words.map((w) => w | 0);
    rng.spareNormal = s.length === 5 ? s[4] : null;
    return rng;
  }
}
