// Seeded randomness for the differential tests: a failing run prints its
// seed, and the same seed replays it.

/** The seed in the environment variable `name`, else a fresh one. */
export function seedFrom(name: string): number {
  const given = process.env[name];
  return given ? Number(given) : (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seededRandom(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
