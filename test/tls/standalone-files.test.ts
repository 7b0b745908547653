// ensureStandaloneCerts: the cert dir standalone mode generates and reuses.
// Every file it reuses is checked the way it will be used, the CA included:
// the start-up line tells clients to trust ca.crt, so a ca.crt that is not
// a certificate, whose key is not ca.key's, or that did not sign tls.crt is
// refused (CertFileError naming the file), as a damaged serving pair is.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createCA, issueServingCert } from '../../src/tls/certs.js';
import { CertFileError, ensureStandaloneCerts } from '../../src/tls/files.js';

/** A generated standalone dir, then damaged. */
function generated(damage: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-standalone-'));
  assert.equal(ensureStandaloneCerts(dir).created, true);
  damage(dir);
  return dir;
}

const refused = (dir: string, message: RegExp) =>
  assert.throws(
    () => ensureStandaloneCerts(dir),
    (err: unknown) => err instanceof CertFileError && message.test(err.message),
  );

describe('ensureStandaloneCerts reuses only a CA that vouches for what is served', () => {
  test('an intact dir is reused as it is', () => {
    const dir = generated(() => {});
    const before = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const again = ensureStandaloneCerts(dir);
    assert.equal(again.created, false);
    assert.equal(again.ca.certPem, before);
  });

  test('a ca.crt that is not PEM is refused, naming it', () => {
    refused(
      generated((dir) => writeFileSync(join(dir, 'ca.crt'), 'garbage\n')),
      /^ca\.crt is not a PEM certificate \(/,
    );
  });

  test('a ca.crt cut short is refused', () => {
    refused(
      generated((dir) => writeFileSync(join(dir, 'ca.crt'), readFileSync(join(dir, 'ca.crt'), 'utf8').slice(0, 300))),
      /^ca\.crt is not a PEM certificate \(/,
    );
  });

  test('a ca.key that is not PEM, or not the key of ca.crt, is refused', () => {
    refused(
      generated((dir) => writeFileSync(join(dir, 'ca.key'), 'garbage\n')),
      /^ca\.key is not a PEM private key \(/,
    );
    refused(
      generated((dir) => writeFileSync(join(dir, 'ca.key'), createCA().keyPem)),
      /^ca\.key is not the key of ca\.crt$/,
    );
  });

  test('a CA that did not sign tls.crt (another pair copied in) is refused', () => {
    refused(
      generated((dir) => {
        const other = createCA();
        writeFileSync(join(dir, 'ca.crt'), other.certPem);
        writeFileSync(join(dir, 'ca.key'), other.keyPem);
      }),
      /^tls\.crt is not signed by ca\.crt$/,
    );
  });

  test('a ca.crt that is a serving certificate, not a CA, is refused', () => {
    refused(
      generated((dir) => {
        const ca = createCA();
        const leaf = issueServingCert(ca, { dnsNames: ['localhost'] });
        writeFileSync(join(dir, 'ca.crt'), leaf.certPem);
        writeFileSync(join(dir, 'ca.key'), leaf.keyPem);
      }),
      /^ca\.crt is not a CA certificate$/,
    );
  });
});
