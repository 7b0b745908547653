// RSA test keys made once, not once per certificate. scripts/test.sh loads
// this module (node --import) into every test process: it reads a pool of
// RSA 2048 keys from .test-keys/ (made on first use, git-ignored) and hands
// them out, each at most once per process, to the RSA 2048 requests of
// node:crypto's generateKeyPairSync (which src/tls/certs.ts and the test API
// server use). When a process has used the whole pool, keys are generated as
// usual. The keys are real; only their making is moved out of the tests.
import crypto, { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../.test-keys/', import.meta.url));
const FILE = `${DIR}rsa-2048.pem`;
/** More than any one test file uses today; past it, keys are generated as usual. */
export const POOL_SIZE = 48;

const generate = crypto.generateKeyPairSync;

/** The pool's PEM file, made once (about 3 s) by whichever process needs it first. */
function poolPems(): string[] {
  if (!existsSync(FILE)) {
    mkdirSync(DIR, { recursive: true });
    const pems = Array.from({ length: POOL_SIZE }, () =>
      generate('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const temporary = `${FILE}.${process.pid}`;
    writeFileSync(temporary, pems.join(''));
    renameSync(temporary, FILE); // atomic: a concurrent process sees the whole file or none
  }
  return readFileSync(FILE, 'utf8')
    .split(/(?=-----BEGIN PRIVATE KEY-----)/)
    .filter((p) => p.trim() !== '');
}

const pool = poolPems();
let next = 0;

type Options = {
  modulusLength?: number;
  publicExponent?: number;
  publicKeyEncoding?: unknown;
  privateKeyEncoding?: unknown;
};

function pooled(type: string, options?: Options): { privateKey: KeyObject; publicKey: KeyObject } | undefined {
  const plain = options?.publicKeyEncoding === undefined && options?.privateKeyEncoding === undefined;
  if (
    type !== 'rsa' ||
    options?.modulusLength !== 2048 ||
    (options.publicExponent ?? 0x10001) !== 0x10001 ||
    !plain ||
    next >= pool.length
  )
    return undefined;
  const privateKey = createPrivateKey(pool[next++]!);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

(crypto as { generateKeyPairSync: unknown }).generateKeyPairSync = (type: string, options?: Options) =>
  pooled(type, options) ?? (generate as (t: string, o?: Options) => unknown)(type, options);
syncBuiltinESMExports();
