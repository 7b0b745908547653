// Map helpers the standard library lacks.

/** The value under `key`, made and stored first when there is none. */
export function bucket<K, T>(map: Map<K, T>, key: K, make: () => T): T {
  let b = map.get(key);
  if (b === undefined) {
    b = make();
    map.set(key, b);
  }
  return b;
}
