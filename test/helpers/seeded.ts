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

/** Draws from `rnd`: one item of a list, and a list shuffled in place (Fisher–Yates). */
export function drawsFrom(rnd: () => number) {
  return {
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!,
    shuffle: <T>(xs: T[]): T[] => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [xs[i], xs[j]] = [xs[j]!, xs[i]!];
      }
      return xs;
    },
  };
}
