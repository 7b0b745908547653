// The JSON body parser for admission routes. JSON.parse itself never
// pollutes prototypes, but a `__proto__` key (or constructor.prototype) in a
// request can turn dangerous in any later object merge, so such bodies are
// refused with a message that says exactly why.
import type { FastifyInstance } from 'fastify';

export class BodyError extends Error {
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export function registerJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(new BodyError('empty body: expected an AdmissionReview JSON object'), undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return done(new BodyError(`body is not valid JSON: ${(err as Error).message}`), undefined);
    }
    // The cheap substring test keeps the walk off the hot path for ordinary bodies.
    const poisoned = (text.includes('__proto__') || text.includes('prototype')) && poisonedKey(value, 'body');
    if (poisoned) return done(new BodyError(`body contains a forbidden key at ${poisoned} (prototype pollution guard)`), undefined);
    done(null, value);
  });
}

function poisonedKey(value: unknown, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = poisonedKey(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (key === '__proto__') return `${path}.__proto__`;
    if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) return `${path}.constructor.prototype`;
    const hit = poisonedKey(child, `${path}.${key}`);
    if (hit) return hit;
  }
  return undefined;
}
