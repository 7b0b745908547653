// Shared by the claims tests (in process and end to end): random workload
// selectors over a small label alphabet, and an overlap check written
// independently of src/sidecar/selectors.ts (--overlap labels: two selectors
// can pick the same pod when no key they share has different values).
export type Selector = Record<string, string>;

/** Two keys, three values each. */
export const ALPHABET = { app: ['a', 'b', 'c'], tier: ['a', 'b', 'c'] } as const;
const KEYS = Object.keys(ALPHABET) as (keyof typeof ALPHABET)[];

/** One of the 15 selectors over two keys and three values (each key present or not, at least one). */
export function randomSelector(random: () => number = Math.random): Selector {
  for (;;) {
    const s: Selector = {};
    for (const k of KEYS) if (random() < 0.5) s[k] = ALPHABET[k][Math.floor(random() * ALPHABET[k].length)]!;
    if (Object.keys(s).length > 0) return s;
  }
}

export function labelsOverlap(a: Selector, b: Selector): boolean {
  return Object.keys(a).every((k) => !(k in b) || a[k] === b[k]);
}
