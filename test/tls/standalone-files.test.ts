// ensureStandaloneCerts: the cert dir standalone mode generates and reuses.
// Every file it reuses is checked the way it will be used, the CA included:
// the start-up line tells clients to trust ca.crt, so a ca.crt that is not
// a certificate, whose key is not ca.key's, or that did not sign tls.crt is
// refused (CertFileError naming the file), as a damaged serving pair is.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('ensureStandaloneCerts writes over no file it did not find as a complete set', () => {
  const files = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'];
  for (const kept of [['tls.crt', 'tls.key'], ['tls.crt', 'tls.key', 'ca.crt'], ['tls.key'], ['ca.crt', 'ca.key']]) {
    test(`${kept.join(', ')} alone: refused, naming what is there and what is not, and left as they were`, () => {
      const dir = generated((d) => {
        for (const f of files) if (!kept.includes(f)) rmSync(join(d, f));
      });
      const before = kept.map((f) => readFileSync(join(dir, f), 'utf8'));
      const present = files.filter((f) => kept.includes(f));
      const absent = files.filter((f) => !kept.includes(f));
      refused(dir, new RegExp(`^holds ${present.join(', ')} but not ${absent.join(', ')} \\(`));
      assert.deepEqual(
        kept.map((f) => readFileSync(join(dir, f), 'utf8')),
        before,
      );
      for (const f of absent) assert.throws(() => readFileSync(join(dir, f)), /ENOENT/, `${f} was not written`);
    });
  }

  test('junk in every one of the four is refused, not replaced', () => {
    const dir = generated((d) => {
      for (const f of files) writeFileSync(join(d, f), 'junk\n');
    });
    assert.throws(() => ensureStandaloneCerts(dir), CertFileError);
    for (const f of files) assert.equal(readFileSync(join(dir, f), 'utf8'), 'junk\n');
  });
});

describe('ensureStandaloneCerts renews the serving certificate from the CA it keeps', () => {
  const DAY = 24 * 3600 * 1000;
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (days: number) => new Date(t0.getTime() + days * DAY);
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-standalone-'));
    assert.equal(ensureStandaloneCerts(dir, t0).created, true);
    return dir;
  };
  const file = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');

  // A ca.crt that `make certs` wrote, or that a client was told to trust, must survive the serving certificate's end.
  test('a serving certificate within a day of its end is re-issued by the same CA', () => {
    const dir = fresh();
    const caBefore = file(dir, 'ca.crt');
    const leafBefore = file(dir, 'tls.crt');
    const renewed = ensureStandaloneCerts(dir, at(89.5));
    assert.equal(renewed.created, false);
    assert.equal(renewed.renewed, true);
    assert.equal(file(dir, 'ca.crt'), caBefore);
    assert.notEqual(file(dir, 'tls.crt'), leafBefore);
    const leaf = new X509Certificate(file(dir, 'tls.crt'));
    const ca = new X509Certificate(caBefore);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    assert.ok(leaf.validToDate.getTime() > at(89.5 + 30).getTime());
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    // And it is then reused like any other.
    assert.deepEqual(
      { ...ensureStandaloneCerts(dir, at(90)), ca: undefined, serving: undefined },
      { created: false, renewed: false, ca: undefined, serving: undefined },
    );
  });

  test('a CA with less than a month left is replaced along with the serving certificate', () => {
    const dir = fresh();
    const caBefore = file(dir, 'ca.crt');
    ensureStandaloneCerts(dir, at(89.5));
    const replaced = ensureStandaloneCerts(dir, at(340));
    assert.equal(replaced.created, true);
    assert.notEqual(file(dir, 'ca.crt'), caBefore);
  });

  test('a serving certificate another CA issued is not renewed by this one: both are replaced', () => {
    const dir = fresh();
    const caBefore = file(dir, 'ca.crt');
    const stranger = issueServingCert(createCA({ now: t0 }), { dnsNames: ['localhost'], now: t0 });
    writeFileSync(join(dir, 'tls.crt'), stranger.certPem);
    writeFileSync(join(dir, 'tls.key'), stranger.keyPem);
    assert.equal(ensureStandaloneCerts(dir, at(89.5)).created, true);
    assert.notEqual(file(dir, 'ca.crt'), caBefore);
  });
});

describe('ensureStandaloneCerts reads only regular files of a bounded size', () => {
  test('a FIFO named tls.crt is refused, not read (the read would never end)', () => {
    const dir = generated((d) => {
      rmSync(join(d, 'tls.crt'));
      execFileSync('mkfifo', [join(d, 'tls.crt')]);
    });
    refused(dir, /^tls\.crt is not a regular file$/);
  });

  test('a tls.key past a megabyte is refused', () => {
    refused(
      generated((d) => writeFileSync(join(d, 'tls.key'), 'x'.repeat(1024 * 1024 + 1))),
      /^tls\.key is larger than 1048576 bytes$/,
    );
  });
});
