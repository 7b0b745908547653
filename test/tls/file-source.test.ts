// FileCertificateSource's expiry lines, with mocked timers (the minutely
// re-read) and an injected clock (the instant it judges against): a
// --cert-dir certificate close to its end gets one warning, an expired one
// one error, each naming the file, notAfter and what to do, once per
// certificate however many re-reads pass; a renewed pair starts over.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test, mock } from 'node:test';
import { createCA, issueServingCert } from '../../src/tls/certs.js';
import { expiryState, expiryWarningWindowMs } from '../../src/tls/expiry.js';
import { FileCertificateSource } from '../../src/tls/file-source.js';
import { writeCertFiles } from '../../src/tls/files.js';
import { capturedLogger } from '../helpers/log.js';

const DAY = 24 * 3600 * 1000;
const MIN = 60 * 1000;
const T0 = Date.parse('2031-03-01T00:00:00Z');

function capture() {
  const { logger, lines } = capturedLogger<{ level: number; msg: string; file?: string; notAfter?: string }>();
  return { lines, logger, expiryLines: () => lines.filter((l) => / expire[sd] /.test(l.msg)) };
}

/** A CA-signed pair for localhost issued at `issuedAt`, lasting `days`, written to a new directory. */
function certDir(issuedAt: number, days: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sg-expiry-'));
  const ca = createCA({ now: new Date(issuedAt) });
  writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['localhost'], days, now: new Date(issuedAt) }));
  return { dir, ca, notAfter: new Date(issuedAt + days * DAY) };
}

describe('expiryWarningWindowMs: the later of 7 days and 1/10 of the lifetime before notAfter', () => {
  const window = (days: number) => expiryWarningWindowMs(new Date(0), new Date(days * DAY));
  test('90 days: 7 days (a tenth would be 9)', () => assert.equal(window(90), 7 * DAY));
  test('a year: 7 days', () => assert.equal(window(365), 7 * DAY));
  test('a day: 2.4 hours, not its whole life', () => assert.equal(window(1), DAY / 10));
  test('states', () => {
    const nb = new Date(0);
    const na = new Date(90 * DAY);
    assert.equal(expiryState(nb, na, new Date(83 * DAY - 1)), 'valid');
    assert.equal(expiryState(nb, na, new Date(83 * DAY)), 'expiring');
    assert.equal(expiryState(nb, na, new Date(90 * DAY - 1)), 'expiring');
    assert.equal(expiryState(nb, na, new Date(90 * DAY)), 'expired');
  });
});

describe('FileCertificateSource: expiry lines', () => {
  let now = T0;
  const clock = () => new Date(now);
  beforeEach(() => {
    now = T0;
    mock.timers.enable({ apis: ['setInterval'] });
  });
  afterEach(() => mock.timers.reset());
  /** `ms` later, and the re-read that follows. */
  const minutesLater = (minutes: number) => {
    for (let i = 0; i < minutes; i++) {
      now += MIN;
      mock.timers.tick(MIN);
    }
  };

  test('a valid certificate: nothing; within the window: one warning; expired: one error; however many re-reads', () => {
    const { dir, notAfter } = certDir(T0, 90);
    const log = capture();
    const source = new FileCertificateSource(dir, { logger: log.logger, clock, renewHint: 'mount a renewed pair' });
    try {
      minutesLater(60);
      assert.deepEqual(log.expiryLines(), [], 'fresh: no line');
      // Two minutes before the 7-day window, then into it: the minutely re-read notices.
      now = notAfter.getTime() - 7 * DAY - 2 * MIN;
      minutesLater(1);
      assert.deepEqual(log.expiryLines(), []);
      minutesLater(1);
      assert.equal(log.expiryLines().length, 1);
      const warning = log.expiryLines()[0]!;
      assert.equal(warning.level, 40, 'warn');
      assert.equal(warning.file, join(dir, 'tls.crt'));
      const notAfterIso = notAfter.toISOString();
      assert.equal(warning.notAfter, notAfterIso);
      assert.match(
        warning.msg,
        new RegExp(
          `the serving certificate .*tls\\.crt expires in 7 days \\(notAfter ${notAfterIso}\\): mount a renewed pair`,
        ),
      );
      minutesLater(60);
      assert.equal(log.expiryLines().length, 1, 'not once a minute');
      now = notAfter.getTime() - MIN;
      minutesLater(1);
      assert.equal(log.expiryLines().length, 2);
      const error = log.expiryLines()[1]!;
      assert.equal(error.level, 50, 'error');
      assert.match(
        error.msg,
        new RegExp(
          `the serving certificate .*tls\\.crt expired at ${notAfterIso}: .*/readyz answers 503 .*; mount a renewed pair`,
        ),
      );
      minutesLater(60);
      assert.equal(log.expiryLines().length, 2, 'the error is said once too');
    } finally {
      source.stop();
    }
  });

  test('expired at start-up: one error (no warning first); a renewed pair on disk is served and quiet', () => {
    const { dir, ca } = certDir(T0 - 91 * DAY, 90);
    const log = capture();
    const source = new FileCertificateSource(dir, { logger: log.logger, clock });
    try {
      assert.deepEqual(
        log.expiryLines().map((l) => l.level),
        [50],
      );
      assert.ok(source.current().notAfter.getTime() < now);
      const changes: Date[] = [];
      source.onChange((m) => changes.push(m.notAfter));
      // The CA above expired too: renewal brings a new pair, as cert-manager would.
      const renewedCa = createCA({ now: clock() });
      writeCertFiles(dir, renewedCa, issueServingCert(renewedCa, { dnsNames: ['localhost'], now: clock() }));
      assert.notEqual(renewedCa.certPem, ca.certPem);
      minutesLater(1);
      assert.equal(changes.length, 1);
      assert.ok(source.current().notAfter.getTime() > now + 80 * DAY);
      minutesLater(5);
      assert.equal(log.expiryLines().length, 1, 'the renewed certificate says nothing');
    } finally {
      source.stop();
    }
  });

  test('a renewal that is itself close to its end warns again, for that certificate', () => {
    const { dir, notAfter } = certDir(T0 - 85 * DAY, 90);
    const log = capture();
    const source = new FileCertificateSource(dir, { logger: log.logger, clock });
    try {
      assert.equal(log.expiryLines().length, 1);
      const ca = createCA({ now: clock() });
      writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['localhost'], days: 3, now: clock() }));
      minutesLater(1);
      assert.notEqual(source.current().notAfter.getTime(), notAfter.getTime());
      // 3 days of life: the window is a tenth (7.2 hours), not yet reached.
      assert.equal(log.expiryLines().length, 1);
      now += 3 * DAY - 7 * 3600 * 1000;
      minutesLater(1);
      assert.equal(log.expiryLines().length, 2);
      assert.match(log.expiryLines()[1]!.msg, /expires in \d+ hours/);
    } finally {
      source.stop();
    }
  });
});
