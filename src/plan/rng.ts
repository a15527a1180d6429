// Counter-based random numbers: every draw is a pure function of (seed, key, counter), so an
// item's choices never depend on worker count, batch order or which other items exist.
// The mixer is the 32-bit "lowbias32" finaliser (Chris Wellons' hash-prospector), applied in a
// sponge over the key words; it passes the avalanche tests that matter for sampling.

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

/** Hashes a string to 32 bits (FNV-1a over UTF-16 code units, then mixed). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h >>> 0);
}

/** Combines 32-bit words into one 32-bit key. */
export function hashWords(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) h = mix32((h ^ (w >>> 0)) + 0x7f4a7c15);
  return h;
}

export class Rng {
  private counter = 0;
  constructor(private readonly key: number) {}

  /** Next raw 32-bit value. */
  u32(): number {
    return mix32(hashWords(this.key, this.counter++));
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("choice from an empty list");
    return items[this.int(items.length)];
  }

  bernoulli(p: number): boolean {
    return p >= 1 ? (this.next(), true) : this.next() < p;
  }

  /** Standard normal (Box–Muller, one value per call). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/**
 * The generator for one op of one output item. `itemKey` is a stable identity of the item
 * (source utterance id and copy index), not its position, so adding or removing other
 * utterances, `--limit`, or sharding leaves this item's draws unchanged.
 */
export function rngFor(seed: number, itemKey: string, opIndex: number, stream = 0): Rng {
  return new Rng(hashWords(seed >>> 0, Math.floor(seed / 4294967296) >>> 0, hashString(itemKey), opIndex, stream));
}
