/** mulberry32: a small seeded PRNG so simulated noise and property tests repeat exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [lo, hi] from a PRNG. */
export function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/**
 * Load on a platter after a step from `from` to `to` grams at time 0: a
 * damped oscillation (the item bouncing, the load cell ringing) around `to`.
 */
export function bounce(from: number, to: number, tMs: number, hz = 5, tauMs = 80): number {
  if (tMs < 0) return from;
  if (!Number.isFinite(tMs) || tMs > 40 * tauMs) return to;
  return to + (from - to) * Math.exp(-tMs / tauMs) * Math.cos(2 * Math.PI * hz * (tMs / 1000));
}
