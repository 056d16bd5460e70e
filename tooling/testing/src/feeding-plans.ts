/** A small seeded PRNG (mulberry32) so random splits and fuzz inputs are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cut points for feeding `length` bytes: whole, byte by byte, and at seeded random splits. */
export function feedingPlans(length: number, seed = 1): { name: string; cuts: number[] }[] {
  const random = seededRandom(seed + length);
  const plans = [
    { name: 'whole', cuts: [length] },
    { name: 'byte by byte', cuts: Array.from({ length }, (_, index) => index + 1) },
  ];
  for (let round = 0; round < 3; round++) {
    const cuts = new Set<number>([length]);
    const pieces = 1 + Math.floor(random() * Math.min(8, length));
    for (let piece = 0; piece < pieces; piece++) cuts.add(1 + Math.floor(random() * length));
    plans.push({ name: `random split ${round}`, cuts: [...cuts].sort((left, right) => left - right) });
  }
  return plans;
}

/** The pieces of `bytes` cut at a plan's cut points (views, no copies). */
export function piecesOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    if (cut > start) pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  if (start < bytes.length) pieces.push(bytes.subarray(start));
  return pieces;
}
