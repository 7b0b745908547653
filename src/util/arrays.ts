// Array helpers the standard library lacks.

/** push(...items) without spreading: a spread of a few hundred thousand arguments overflows the stack. */
export function append<T>(out: T[], items: Iterable<T>): void {
  for (const item of items) out.push(item);
}
