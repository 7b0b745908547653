// One test for "a JSON object" (not null, not an array), used wherever
// untrusted JSON is read.
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own properties only: a key like "constructor" must not find Object.prototype's. */
export const ownValue = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
