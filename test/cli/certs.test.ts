// `sidecar-guard certs --out DIR` run again to renew the 90-day serving
// certificate, through the installed binary as an operator would: the CA in
// DIR (whose caBundle the webhook configurations trust) is kept and signs the
// new certificate; --new-ca replaces it on purpose; a CA that cannot be kept
// (one file of the pair, damaged, mismatched, not a CA, expired or expiring
// before the new certificate) is one line, exit 2, and nothing is written.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCA, issueServingCert, type KeyPairPem } from '../../src/tls/certs.js';
import { writeCertFiles } from '../../src/tls/files.js';
import { spawnCli, type CliResult } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sg-certs-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmp, `out-${++n}`);

const DAY_MS = 24 * 3600 * 1000;
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
const snapshot = (dir: string) =>
  Object.fromEntries(
    ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'].map((f) => [f, existsSync(join(dir, f)) ? read(dir, f) : undefined]),
  );
const certs = (out: string, ...more: string[]) =>
  spawnCli(['certs', '--service', 'guard', '--namespace', 'ops', '--out', out, ...more]);

/** A directory holding `ca` and a serving certificate it signed, as an earlier `certs` run leaves it. */
function dirWith(ca: KeyPairPem): string {
  const dir = fresh();
  writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['guard'] }));
  return dir;
}

function oneLineUsageError(res: CliResult, says: RegExp): void {
  assert.equal(res.code, 2, `exit code; stderr: ${res.stderr}`);
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${res.stderr}`);
  assert.match(lines[0]!, says);
  assert.equal(res.stdout, '', 'no caBundle printed');
}

describe('sidecar-guard certs --out DIR', () => {
  test('run again, it keeps the CA, signs a new serving certificate with it and says so', async () => {
    const out = fresh();
    const first = await certs(out);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^wrote .*ca\.crt, .*ca\.key, .*tls\.crt, .*tls\.key for guard\.ops\.svc\n$/);
    const before = snapshot(out);

    const second = await certs(out);
    assert.equal(second.code, 0, second.stderr);
    const after = snapshot(out);
    assert.equal(after['ca.crt'], before['ca.crt'], 'ca.crt kept');
    assert.equal(after['ca.key'], before['ca.key'], 'ca.key kept');
    assert.notEqual(after['tls.crt'], before['tls.crt'], 'a new serving certificate');
    assert.notEqual(after['tls.key'], before['tls.key'], 'with a new key');
    const ca = new X509Certificate(after['ca.crt']!);
    const leaf = new X509Certificate(after['tls.crt']!);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by the kept CA');
    assert.match(leaf.subjectAltName!, /DNS:guard\.ops\.svc\.cluster\.local/);
    // The caBundle the webhook configurations already hold is still the right one.
    assert.equal(second.stdout, first.stdout);
    const expiry = new Date(ca.validTo).toISOString().slice(0, 10);
    assert.match(
      second.stderr,
      new RegExp(
        `^kept the CA in .*ca\\.crt \\(expires ${expiry}\\); wrote .*tls\\.crt, .*tls\\.key for guard\\.ops\\.svc\\n$`,
      ),
    );
  });

  test('--new-ca replaces the CA on purpose, and the serving certificate with it', async () => {
    const out = fresh();
    assert.equal((await certs(out)).code, 0);
    const before = snapshot(out);
    const res = await certs(out, '--new-ca');
    assert.equal(res.code, 0, res.stderr);
    const after = snapshot(out);
    assert.notEqual(after['ca.crt'], before['ca.crt']);
    assert.notEqual(after['ca.key'], before['ca.key']);
    assert.ok(new X509Certificate(after['tls.crt']!).checkIssued(new X509Certificate(after['ca.crt']!)));
    assert.equal(Buffer.from(res.stdout.trim(), 'base64').toString(), after['ca.crt']);
    assert.match(
      res.stderr,
      /^replaced the CA: wrote .*ca\.crt, .*ca\.key, .*tls\.crt, .*tls\.key for guard\.ops\.svc; give the webhook configurations the new caBundle\n$/,
    );
  });

  test('--new-ca replaces a CA that could not be kept', async () => {
    const out = dirWith(createCA());
    writeFileSync(join(out, 'ca.key'), 'not a key');
    const res = await certs(out, '--new-ca');
    assert.equal(res.code, 0, res.stderr);
    assert.ok(new X509Certificate(read(out, 'tls.crt')).checkIssued(new X509Certificate(read(out, 'ca.crt'))));
  });

  const truncate = (dir: string, file: string) => writeFileSync(join(dir, file), read(dir, file).slice(0, 300));
  const refusals: Record<string, { dir: () => string; says: RegExp }> = {
    'only ca.crt': {
      dir: () => {
        const dir = dirWith(createCA());
        rmSync(join(dir, 'ca.key'));
        return dir;
      },
      says: /^sidecar-guard: .*out-\d+ has ca\.crt but no ca\.key: put ca\.key back to keep the CA, or use --new-ca to replace it$/,
    },
    'only ca.key': {
      dir: () => {
        const dir = dirWith(createCA());
        rmSync(join(dir, 'ca.crt'));
        return dir;
      },
      says: /^sidecar-guard: .*out-\d+ has ca\.key but no ca\.crt: put ca\.crt back to keep the CA, or use --new-ca to replace it$/,
    },
    'a truncated ca.crt': {
      dir: () => {
        const dir = dirWith(createCA());
        truncate(dir, 'ca.crt');
        return dir;
      },
      says: /^sidecar-guard: cannot keep the CA in .*out-\d+: ca\.crt is not a PEM certificate \(.+\); use --new-ca to replace it/,
    },
    'a truncated ca.key': {
      dir: () => {
        const dir = dirWith(createCA());
        truncate(dir, 'ca.key');
        return dir;
      },
      says: /^sidecar-guard: cannot keep the CA in .*out-\d+: ca\.key is not a PEM private key \(.+\); use --new-ca/,
    },
    'a ca.key of another CA': {
      dir: () => {
        const dir = dirWith(createCA());
        writeFileSync(join(dir, 'ca.key'), createCA().keyPem);
        return dir;
      },
      says: /^sidecar-guard: cannot keep the CA in .*out-\d+: ca\.key is not the key of ca\.crt; use --new-ca/,
    },
    'a ca.crt that is not a CA': {
      dir: () => {
        const dir = dirWith(createCA());
        writeFileSync(join(dir, 'ca.crt'), read(dir, 'tls.crt'));
        writeFileSync(join(dir, 'ca.key'), read(dir, 'tls.key'));
        return dir;
      },
      says: /^sidecar-guard: cannot keep the CA in .*out-\d+: ca\.crt is not a CA certificate .*; use --new-ca/,
    },
    'an expired CA': {
      dir: () => dirWith(createCA({ now: new Date(Date.now() - 400 * DAY_MS), days: 365 })),
      says: /^sidecar-guard: cannot keep the CA in .*out-\d+: ca\.crt expired on \d{4}-\d\d-\d\d; use --new-ca to replace it/,
    },
    'a CA that expires before a new serving certificate would': {
      dir: () => dirWith(createCA({ days: 30 })),
      says: /^sidecar-guard: cannot keep the CA in .*out-\d+: ca\.crt expires on \d{4}-\d\d-\d\d, before a new 90-day serving certificate would \(\d{4}-\d\d-\d\d\); use --new-ca to replace it/,
    },
  };
  for (const [name, c] of Object.entries(refusals)) {
    test(`${name}: one line naming it and --new-ca, exit 2, nothing written`, async () => {
      const dir = c.dir();
      const before = snapshot(dir);
      oneLineUsageError(await certs(dir), c.says);
      assert.deepEqual(snapshot(dir), before);
    });
  }
});
