// decideRotation() with an injected clock: keep, renew the leaf at 2/3,
// renew on wrong names / foreign issuer / wrong key / expiry, and the CA
// rotation overlap (new CA published before it signs; old CA kept until it
// expires).
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { createCA, issueServingCert, serviceDnsNames, splitPemBundle } from '../../src/tls/certs.js';
import {
  applyRotation,
  decideRotation,
  rotationPolicy,
  type RotationDecision,
  type TlsMaterial,
} from '../../src/tls/rotation.js';

const DAY = 24 * 3600 * 1000;
const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const policy = rotationPolicy({ dnsNames: serviceDnsNames('sidecar-guard', 'sidecar-guard') });

function fresh(now = T0): TlsMaterial {
  return applyRotation(undefined, 'create', policy, now);
}

const decide = (m: TlsMaterial | undefined, now: Date, published = true) =>
  decideRotation(m, policy, { now, published });
const action = (d: RotationDecision) => d.action;
const x509 = (pem: string) => new X509Certificate(pem);
const cas = (m: TlsMaterial) => splitPemBundle(m.caBundlePem).map(x509);
const issuerOf = (m: TlsMaterial) => cas(m).find((ca) => x509(m.certPem).verify(ca.publicKey));

describe('decideRotation: the serving certificate', () => {
  const m = fresh();

  test('nothing stored yet: create', () => {
    assert.equal(action(decide(undefined, T0)), 'create');
  });

  test('fresh material is kept, and the next check is the leaf renewal at 2/3 of 90 days', () => {
    const d = decide(m, at(DAY));
    assert.equal(d.action, 'keep');
    if (d.action !== 'keep') return;
    const leaf = x509(m.certPem);
    const life = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
    assert.equal(d.nextCheckAt.getTime(), Date.parse(leaf.validFrom) + Math.floor((life * 2) / 3));
    assert.equal(d.waiting, undefined);
  });

  test('just before 2/3 of its life: keep; just after: issue-leaf', () => {
    const d = decide(m, at(DAY));
    assert.equal(d.action, 'keep');
    if (d.action !== 'keep') return;
    assert.equal(action(decide(m, new Date(d.nextCheckAt.getTime() - 1000))), 'keep');
    assert.equal(action(decide(m, new Date(d.nextCheckAt.getTime() + 1000))), 'issue-leaf');
  });

  test('the renewed leaf is signed by the same CA, starts now, and is kept', () => {
    const now = at(61 * DAY);
    const renewed = applyRotation(m, 'issue-leaf', policy, now);
    assert.equal(renewed.caBundlePem, m.caBundlePem);
    assert.equal(renewed.caKeyPem, m.caKeyPem);
    assert.notEqual(renewed.keyPem, m.keyPem, 'a new key pair for every leaf');
    assert.ok(x509(renewed.certPem).checkIssued(x509(m.caBundlePem)));
    assert.ok(Math.abs(Date.parse(x509(renewed.certPem).validFrom) - now.getTime()) <= 5 * MIN + 1000);
    assert.equal(action(decide(renewed, now)), 'keep');
  });

  test('an expired leaf is replaced', () => {
    const d = decideRotation(m, { ...policy, renewFraction: 1 }, { now: at(91 * DAY), published: true });
    assert.deepEqual(d, { action: 'issue-leaf', reason: 'the serving certificate has expired' });
  });

  test('names the leaf does not cover: issue-leaf, whatever its age', () => {
    const d = decideRotation(
      m,
      { ...policy, dnsNames: [...policy.dnsNames, 'sidecar-guard.example.com'] },
      { now: at(DAY), published: true },
    );
    assert.equal(d.action, 'issue-leaf');
    assert.match((d as { reason: string }).reason, /does not cover sidecar-guard\.example\.com/);
    const ip = decideRotation(m, { ...policy, ipAddresses: ['10.0.0.1'] }, { now: at(DAY), published: true });
    assert.match((ip as { reason: string }).reason, /does not cover 10\.0\.0\.1/);
  });

  test('a leaf signed by a CA outside ca.crt: issue-leaf', () => {
    const foreign = issueServingCert(createCA({ now: T0 }), { dnsNames: policy.dnsNames, now: T0 });
    const d = decide({ ...m, ...foreign }, at(DAY));
    assert.deepEqual(d, { action: 'issue-leaf', reason: 'the serving certificate is not signed by a CA in ca.crt' });
  });

  test('tls.key not matching tls.crt, or no leaf at all: issue-leaf', () => {
    const other = fresh();
    assert.deepEqual(decide({ ...m, keyPem: other.keyPem }, at(DAY)), {
      action: 'issue-leaf',
      reason: 'tls.key does not match tls.crt',
    });
    assert.equal(action(decide({ ...m, certPem: '' }, at(DAY))), 'issue-leaf');
  });

  test('no usable CA: create (empty bundle, garbage, all expired)', () => {
    assert.equal(action(decide({ ...m, caBundlePem: '' }, at(DAY))), 'create');
    assert.equal(
      action(decide({ ...m, caBundlePem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, at(DAY))),
      'create',
    );
    assert.equal(action(decide(m, at(366 * DAY))), 'create');
  });

  // A Secret written by a replica whose clock runs ahead by more than the 5 minute backdate: the API
  // server refuses a certificate before its notBefore ("not yet valid"), so the webhook is unreachable.
  test("a leaf not valid yet (its writer's clock ran ahead): issue-leaf, and the new one is kept by both clocks", () => {
    const ca = { certPem: m.caBundlePem, keyPem: m.caKeyPem };
    const early = { ...m, ...issueServingCert(ca, { dnsNames: policy.dnsNames, now: at(DAY) }) };
    assert.equal(action(decide(early, at(DAY))), 'keep', 'the writer itself sees a valid leaf');
    const d = decide(early, at(HOUR));
    assert.equal(d.action, 'issue-leaf');
    assert.match(d.action === 'issue-leaf' ? d.reason : '', /not valid before 2030-01-01T23:55:00\.000Z/);
    const renewed = applyRotation(early, 'issue-leaf', policy, at(HOUR));
    assert.equal(action(decide(renewed, at(HOUR))), 'keep');
    assert.equal(action(decide(renewed, at(DAY))), 'keep');
  });

  test("a CA not valid yet (its writer's clock ran ahead): create, and the new material is kept by both clocks", () => {
    const early = fresh(at(DAY));
    assert.equal(action(decide(early, at(DAY))), 'keep');
    assert.equal(action(decide(early, at(HOUR))), 'create');
    const created = applyRotation(early, 'create', policy, at(HOUR));
    assert.equal(action(decide(created, at(HOUR))), 'keep');
    assert.equal(action(decide(created, at(DAY))), 'keep');
  });

  test('ca.key lost or replaced: stage a new CA, keeping the one that signed the leaf', () => {
    const d = decide({ ...m, caKeyPem: fresh().caKeyPem }, at(DAY));
    assert.equal(d.action, 'stage-ca');
    const staged = applyRotation({ ...m, caKeyPem: fresh().caKeyPem }, 'stage-ca', policy, at(DAY));
    assert.equal(cas(staged).length, 2);
    assert.equal(cas(staged)[0]!.fingerprint256, x509(m.caBundlePem).fingerprint256);
    assert.equal(staged.certPem, m.certPem, 'the leaf stays until the new CA is published');
  });
});

describe('decideRotation: CA rotation with overlap', () => {
  const m = fresh();
  const oldCa = x509(m.caBundlePem);
  const caLife = Date.parse(oldCa.validTo) - Date.parse(oldCa.validFrom);
  const caRenewAt = Date.parse(oldCa.validFrom) + Math.floor((caLife * 2) / 3);
  const beforeRotation = applyRotation(m, 'issue-leaf', policy, new Date(caRenewAt - 10 * DAY));
  const stageAt = new Date(caRenewAt + 1000);
  const staged = applyRotation(beforeRotation, 'stage-ca', policy, stageAt);
  const newCa = cas(staged)[1]!;

  test('before 2/3 of the CA life: keep; after: stage-ca', () => {
    assert.equal(action(decide(beforeRotation, new Date(caRenewAt - 1000))), 'keep');
    assert.equal(action(decide(beforeRotation, stageAt)), 'stage-ca');
  });

  test('stage-ca: the bundle holds the old then the new CA, ca.key is the new CA key, the leaf is untouched', () => {
    assert.deepEqual(
      cas(staged).map((c) => c.fingerprint256),
      [oldCa.fingerprint256, newCa.fingerprint256],
    );
    assert.equal(newCa.ca, true);
    assert.equal(newCa.checkPrivateKey(createPrivateKey(staged.caKeyPem)), true);
    assert.equal(staged.certPem, beforeRotation.certPem);
    assert.equal(issuerOf(staged)?.fingerprint256, oldCa.fingerprint256);
  });

  test('the new CA does not sign until the bundle with both is published', () => {
    const d = decide(staged, new Date(stageAt.getTime() + 60 * MIN), false);
    assert.equal(d.action, 'keep');
    assert.match((d as { waiting?: string }).waiting ?? '', /webhook configurations carry the new CA/);
  });

  test('published, but not yet propagated for caPropagationMs after the new CA notBefore: keep, with a check at that instant', () => {
    const d = decide(staged, new Date(stageAt.getTime() + MIN));
    assert.equal(d.action, 'keep');
    if (d.action !== 'keep') return;
    assert.equal(d.nextCheckAt.getTime(), Date.parse(newCa.validFrom) + policy.caPropagationMs);
    assert.match(d.waiting ?? '', /API servers/);
  });

  test('published and propagated: the leaf is re-signed by the new CA while the old CA stays in the bundle', () => {
    const now = new Date(Date.parse(newCa.validFrom) + policy.caPropagationMs + 1000);
    assert.deepEqual(decide(staged, now), {
      action: 'issue-leaf',
      reason: 'the serving certificate is signed by the previous CA',
    });
    const switched = applyRotation(staged, 'issue-leaf', policy, now);
    assert.equal(issuerOf(switched)?.fingerprint256, newCa.fingerprint256);
    assert.equal(switched.caBundlePem, staged.caBundlePem, 'both CAs still in the bundle');
    assert.equal(action(decide(switched, now)), 'keep');
    // A client holding the two-CA bundle trusts the old leaf and the new one.
    for (const leaf of [staged.certPem, switched.certPem])
      assert.ok(cas(switched).some((ca) => x509(leaf).verify(ca.publicKey)));
  });

  test('once the old CA has expired it is pruned from the bundle', () => {
    const now = new Date(Date.parse(newCa.validFrom) + policy.caPropagationMs + 1000);
    const switched = applyRotation(staged, 'issue-leaf', policy, now);
    const d = decide(switched, now);
    assert.equal(d.action, 'keep');
    if (d.action !== 'keep') return;
    assert.ok(d.nextCheckAt.getTime() <= Date.parse(oldCa.validTo), 'a check is due when the old CA expires');
    const afterExpiry = new Date(Date.parse(oldCa.validTo) + 1000);
    assert.equal(action(decide(switched, afterExpiry)), 'prune-bundle');
    const pruned = applyRotation(switched, 'prune-bundle', policy, afterExpiry);
    assert.deepEqual(
      cas(pruned).map((c) => c.fingerprint256),
      [newCa.fingerprint256],
    );
  });
});

describe('two years of daily reconciles', () => {
  test('the served leaf is always valid, always chains to the bundle, and only switches to a CA published in an earlier pass', () => {
    // Each day, like the manager: publish the stored bundle, then decide and apply until keep.
    let m = fresh();
    const firstPublished = new Map<string, number>();
    let caSwitches = 0;
    let leafRenewals = 0;
    for (let day = 1; day <= 2 * 365; day++) {
      const now = at(day * DAY);
      for (let step = 0; step < 10; step++) {
        for (const ca of cas(m))
          if (!firstPublished.has(ca.fingerprint256)) firstPublished.set(ca.fingerprint256, now.getTime());
        const d = decideRotation(m, policy, { now, published: true });
        if (d.action === 'keep') break;
        const next = applyRotation(m, d.action, policy, now);
        const before = issuerOf(m)?.fingerprint256;
        const after = issuerOf(next)?.fingerprint256;
        if (d.action === 'issue-leaf') leafRenewals++;
        if (before !== after) {
          caSwitches++;
          const since = firstPublished.get(after!);
          assert.ok(
            since !== undefined && now.getTime() - since >= policy.caPropagationMs - 5 * MIN,
            `day ${day}: the leaf moved to a CA published too recently`,
          );
        }
        m = next;
      }
      const leaf = x509(m.certPem);
      assert.ok(now.getTime() < Date.parse(leaf.validTo), `day ${day}: leaf expired`);
      assert.ok(issuerOf(m), `day ${day}: leaf does not chain to the bundle`);
      assert.ok(cas(m).length <= 2, `day ${day}: bundle holds ${cas(m).length} CAs`);
      assert.ok(
        cas(m).every((ca) => now.getTime() < Date.parse(ca.validTo)),
        `day ${day}: expired CA left in the bundle`,
      );
    }
    assert.ok(caSwitches >= 2, `the CA rotated ${caSwitches} times in two years`);
    assert.ok(leafRenewals >= 10, `the leaf was renewed ${leafRenewals} times in two years`);
  });
});

describe('the new CA never gets published (the caBundle patch keeps failing)', () => {
  test('daily reconciles: the leaf is renewed at 2/3 of its life by the CA the API server trusts, and never signed by the unpublished one', () => {
    let m = fresh();
    /** What the webhook configurations carry: the last bundle whose publication succeeded. */
    let published = m.caBundlePem;
    let publishing = true;
    let stagedOnDay = 0;
    const trusted = () => splitPemBundle(published).map(x509);
    const renewals: number[] = [];
    for (let day = 1; day <= 364; day++) {
      const now = at(day * DAY);
      for (let step = 0; step < 10; step++) {
        // Publication succeeds until the day the new CA is staged (the patch RBAC was removed that day).
        if (publishing) published = m.caBundlePem;
        const d = decideRotation(m, policy, { now, published: m.caBundlePem === published });
        if (d.action === 'keep') break;
        if (d.action === 'stage-ca') {
          publishing = false;
          stagedOnDay = day;
        }
        const next = applyRotation(m, d.action, policy, now, d.action === 'issue-leaf' ? d.signer : undefined);
        if (d.action === 'issue-leaf') renewals.push(day);
        m = next;
      }
      const leaf = x509(m.certPem);
      assert.ok(now.getTime() < Date.parse(leaf.validTo), `day ${day}: the served leaf has expired`);
      assert.ok(
        trusted().some((ca) => leaf.verify(ca.publicKey) && now.getTime() < Date.parse(ca.validTo)),
        `day ${day}: the served leaf is not signed by a CA the API server trusts (issue-leaf on days ${renewals})`,
      );
    }
    assert.ok(stagedOnDay >= 243 && stagedOnDay <= 244, `staged on day ${stagedOnDay}`);
    // Renewed every 60 days, also after the staging (day 300), then once more as the old CA nears its end.
    assert.deepEqual(renewals.slice(0, 5), [60, 120, 180, 240, 300]);
  });
});
