/**
 * Deterministic, seedable randomness for the simulator. Everything is built from 32-bit integer
 * hashing so that a draw can be addressed by a key (seed, day, student) instead of by the order in
 * which draws happen: the same student on the same day gets the same event whatever else is
 * simulated alongside.
 */

/** The 32-bit finalizer of MurmurHash3: a bijection on unsigned 32-bit integers with good avalanche. */
export function fmix32(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes `b` under key `a`; for a fixed `a` it is a bijection in `b` (so distinct `b` never collide). */
export function mix(a: number, b: number): number {
  return fmix32((fmix32(a) + Math.imul(b | 0, 0x9e3779b1) + 0x7f4a7c15) | 0);
}

/** FNV-1a, 32-bit, over the UTF-16 code units of `text` (bytes for ASCII text such as DBNs). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit key derived from a seed and a label, so that each use of randomness has its own stream. */
export function seedWord(seed: number, label: string): number {
  return fmix32(fnv1a32(`${seed}/${label}`));
}

/** An unsigned 32-bit integer to a float in [0, 1). */
export function toUnit(x: number): number {
  return x / 4294967296;
}

/** A sequential generator (a counter run through `mix`) for choices made once per run. */
export class SeededRandom {
  readonly #key: number;
  #counter = 0;

  constructor(seed: number, label: string) {
    this.#key = seedWord(seed, label);
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    this.#counter = (this.#counter + 1) | 0;
    return mix(this.#key, this.#counter);
  }

  /** A float in [0, 1). */
  next(): number {
    return toUnit(this.nextU32());
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max] (both included). */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /**
   * Moves `k` uniformly chosen elements of `values` to its front (a partial Fisher–Yates shuffle)
   * and returns `k`. The first `k'` < `k` elements are themselves a uniform choice of `k'`.
   */
  choosePrefix(values: Int32Array, k: number): number {
    const n = values.length;
    const take = Math.min(k, n);
    for (let i = 0; i < take; i++) {
      const j = i + this.int(n - i);
      const t = values[i]!;
      values[i] = values[j]!;
      values[j] = t;
    }
    return take;
  }
}
