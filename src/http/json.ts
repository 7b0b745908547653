// The JSON body parser for admission routes. Keys such as `__proto__` and
// `constructor` are data like any other: JSON.parse makes them own
// properties (it never sets a prototype), and the decision code reads
// objects through Object.hasOwn / null-prototype copies, so a Sidecar that
// carries one is judged like any other (as Istio and kube-apiserver do),
// never refused with 400 (which kube-apiserver reports as a failed webhook
// call); test/http/proto-keys.test.ts holds this over real HTTPS. Nesting is
// capped at the depth kube-apiserver's own decoder accepts, so no recursive walk further
// down can run out of stack on a hostile body; and the number of objects and
// arrays is capped, because the parse tree, not the text, is what costs
// memory: 7 MiB of `{},` parse into 146 MiB of heap, more than a container
// limit of 512Mi leaves V8 (a quarter of it, doubled on 64-bit: 256 MB).
import type { FastifyInstance } from 'fastify';
import { MAX_NESTING_DEPTH } from '../util/yaml.js';

/** controller-runtime's limit: the API server accepts 3 MiB objects, and a review carries two of them. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

/** encoding/json's (and sigs.k8s.io/json's) limit: the API server never sends anything deeper. */
export const MAX_JSON_DEPTH = MAX_NESTING_DEPTH;

/**
 * Objects and arrays in one body. A Sidecar with 65,535 egress listeners (one
 * per port) holds about 200,000, twice that in an UPDATE's review; a million
 * parse into about 60 MB of heap.
 */
export const MAX_JSON_CONTAINERS = 1_000_000;

/**
 * Object keys in one body. An object kube-apiserver can store (1.5 MiB in
 * etcd) holds at most 262,144 (`"k":0,` is six bytes), an UPDATE's review two
 * of them (524,288) and a few hundred of its own; a Sidecar's schema prunes
 * unknown fields, so a real review holds a few thousand. Keys cost after the
 * parse too: V8 keeps a 780,000-key object as a dictionary that every walk of
 * it enumerates whole, and such a 6.6 MiB review held the event loop 1.5-2 s
 * (0.5 s of it the parse) to be answered `object.size`. At the limit it is
 * about 1 s.
 */
export const MAX_JSON_KEYS = 600_000;

export class BodyError extends Error {
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export function registerJsonParser(app: FastifyInstance, bodyLimit: number): void {
  // Only JSON is an AdmissionReview: without Fastify's text/plain parser, any other type is refused by name.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const parsed = parseJsonBody(body as string);
    if (parsed instanceof BodyError) done(parsed, undefined);
    else done(null, parsed.value);
  });
}

/** A body's text to its value, or the 4xx that names why not. */
export function parseJsonBody(text: string): { value: unknown } | BodyError {
  if (text.trim() === '') return new BodyError('empty body: expected an AdmissionReview JSON object');
  const shape = shapeBeyond(text, MAX_JSON_DEPTH, MAX_JSON_CONTAINERS, MAX_JSON_KEYS);
  if (shape?.beyond === 'depth')
    return new BodyError(`body nests deeper than ${MAX_JSON_DEPTH} levels (at offset ${shape.offset})`);
  if (shape?.beyond === 'containers')
    return new BodyError(
      `body holds more than ${MAX_JSON_CONTAINERS.toLocaleString('en')} JSON objects and arrays (at offset ${shape.offset}): no review of a Sidecar comes near that, and parsing it would take hundreds of MB`,
      413,
    );
  if (shape)
    return new BodyError(
      `body holds more than ${MAX_JSON_KEYS.toLocaleString('en')} object keys (at offset ${shape.offset}): no review of objects kube-apiserver can store holds that many, and judging it would hold every other request`,
      413,
    );
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return new BodyError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The body's length differs from its Content-Length (Fastify's reader refuses it too). */
export const LENGTH_MISMATCH = 'Content-Length does not match the body';

export const TOO_LARGE = 'body larger than 7 MiB: an AdmissionReview of a valid object is never that large';

/** How far a body has come: the reader adds each chunk's bytes and marks its end (the gate's Ticket is one). */
export interface BodyProgress {
  received: number;
  complete: boolean;
}

/** A body being read; `stop` ends it now with an error (nothing more of it is read). */
export interface BodyReading {
  stop(error: BodyError): void;
}

/**
 * Reads a request's body and parses it, keeping `progress` current on the
 * way: the admission routes' parser. It does what Fastify's own reader does
 * (the same limit and Content-Length checks, one decode at the end) with the
 * counting inside, because a Transform stream in between, the way to count
 * from a preParsing hook, cost each request 4.6 KB of stream state and pipe
 * closures (issue 20), a third of the route's own allocation.
 */
export function readJsonBody(
  payload: NodeJS.ReadableStream,
  limit: number,
  declared: number | undefined,
  progress: BodyProgress,
  done: (error: Error | null, value?: unknown) => void,
): BodyReading {
  const body = new BodyBytes(declared !== undefined && declared <= limit ? declared : undefined, limit);
  let finished = false;
  const finish = (error: Error | null, value?: unknown) => {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    body.clear();
    done(error, value);
  };
  const onData = (chunk: Buffer) => {
    progress.received += chunk.length;
    if (progress.received > limit) return finish(new BodyError(TOO_LARGE, 413));
    body.add(chunk);
  };
  const onEnd = () => {
    progress.complete = true;
    if (declared !== undefined && progress.received !== declared) return finish(new BodyError(LENGTH_MISMATCH));
    const parsed = parseJsonBody(body.text());
    if (parsed instanceof BodyError) finish(parsed);
    else finish(null, parsed.value);
  };
  const onError = (error: Error) => {
    // A client that went away mid-body: Fastify's reader answers 400 too (nobody is left to read it).
    finish(error instanceof BodyError ? error : new BodyError(error.message));
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
  return {
    stop: (error) => {
      // Stop reading the socket: the 408 goes out with Connection: close, and the rest of the body is never read.
      payload.pause();
      finish(error);
    },
  };
}

/**
 * A body's bytes as they arrive, in memory proportional to the bytes, not to
 * the number of pieces they came in: a chunked body of 1-byte chunks (or a
 * TLS stream of 1-byte records) delivers a Buffer object per byte, and
 * keeping each one cost a few hundred bytes of heap per body byte (a 2.5 MB
 * review killed a 256 MB heap). The first piece is kept as it is (a small
 * review arrives in one); from the second on, pieces are copied into one
 * buffer that doubles as needed, never past the limit.
 */
class BodyBytes {
  private first: Buffer | undefined;
  private buffer: Buffer | undefined;
  private used = 0;

  constructor(
    /** The declared Content-Length, when within the limit: the buffer's size from the start. */
    private readonly expected: number | undefined,
    private readonly limit: number,
  ) {}

  add(chunk: Buffer): void {
    if (this.first === undefined && this.buffer === undefined) {
      this.first = chunk;
      return;
    }
    if (this.buffer === undefined) {
      const first = this.first!;
      this.buffer = Buffer.allocUnsafe(this.capacityFor(first.length + chunk.length));
      first.copy(this.buffer, 0);
      this.used = first.length;
      this.first = undefined;
    } else if (this.used + chunk.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(this.capacityFor(this.used + chunk.length));
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.used);
    this.used += chunk.length;
  }

  text(): string {
    if (this.buffer) return this.buffer.toString('utf8', 0, this.used);
    return this.first ? this.first.toString('utf8') : '';
  }

  clear(): void {
    this.first = undefined;
    this.buffer = undefined;
    this.used = 0;
  }

  /** Room for `needed` bytes: the declared length when it holds them, else double the current size, 64 KiB at least. */
  private capacityFor(needed: number): number {
    if (this.expected !== undefined && this.expected >= needed) return this.expected;
    return Math.min(this.limit, Math.max(needed, 2 * (this.buffer?.length ?? 0), 64 * 1024));
  }
}

/**
 * Where the brackets of a JSON text first nest deeper than `depthLimit`, or
 * open more than `containerLimit` objects and arrays in all, or it holds more
 * than `keyLimit` keys (a colon outside strings follows each). Texts too
 * short to break any limit are not scanned at all.
 */
function shapeBeyond(
  text: string,
  depthLimit: number,
  containerLimit: number,
  keyLimit: number,
): { offset: number; beyond: 'depth' | 'containers' | 'keys' } | undefined {
  // `{}` opens a container in two characters, `"":0,` a key in five.
  if (text.length <= Math.min(2 * depthLimit, 2 * containerLimit, 5 * keyLimit)) return undefined;
  let depth = 0;
  let containers = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > depthLimit) return { offset: i, beyond: 'depth' };
      if (++containers > containerLimit) return { offset: i, beyond: 'containers' };
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x3a && ++keys > keyLimit) return { offset: i, beyond: 'keys' };
  }
  return undefined;
}
