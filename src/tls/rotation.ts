// When to renew what. decideRotation() is pure: the stored material, the
// clock and whether the current CA has been published in the webhook
// configurations go in, one next step comes out. applyRotation() performs
// that step (the only part that generates keys). The manager repeats
// read → decide → apply → write until the answer is "keep".
//
// CA rotation without a window of distrust, in three steps:
//   1. stage-ca: a new CA joins ca.crt next to the old one and ca.key becomes
//      the new CA's key; the served leaf, signed by the old CA, stays.
//   2. the manager publishes ca.crt (both CAs) into the webhook configurations.
//   3. issue-leaf: only once the new CA is published and has been around for
//      caPropagationMs (kube-apiservers pick up configuration changes through
//      their own informers), the leaf is re-signed by the new CA.
// The old CA stays in ca.crt until it expires (prune-bundle), so a replica
// still serving the previous leaf stays trusted until it re-reads the Secret.
//
// Between 1 and 3 the old CA's key stays in the Secret (ca-previous.key), and
// every leaf issued meanwhile (renewal at 2/3 of its life, a name added, an
// expired or broken leaf) is signed by the old CA: the one the API server
// trusts. If publication fails for good (the patch RBAC removed), the leaf
// keeps being renewed as usual instead of expiring and then being re-signed
// by a CA the API server has never seen. The key goes when the leaf moves
// to the new CA, or when the old CA expires.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { createCA, DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS, issueServingCert, splitPemBundle } from './certs.js';

/** What the Secret holds (see secret-store.ts for the key names). */
export interface TlsMaterial {
  /** ca.crt: the CA bundle, one CA, two during a CA rotation. */
  caBundlePem: string;
  /** ca.key: the key of the current CA, the one that signs new leaves once published. */
  caKeyPem: string;
  /**
   * ca-previous.key: while a staged CA is not yet in use, the key of the CA
   * that signed the served leaf; it signs the leaves issued meanwhile.
   */
  previousCaKeyPem?: string;
  /** tls.crt / tls.key: the serving certificate and its key. */
  certPem: string;
  keyPem: string;
}

export interface RotationPolicy {
  /** Every name the serving certificate must cover. */
  dnsNames: string[];
  ipAddresses: string[];
  caDays: number;
  leafDays: number;
  /** Replace a certificate once this fraction of its life has passed (cert-manager's 2/3). */
  renewFraction: number;
  /**
   * Minimum time between a new CA's notBefore and the first leaf it signs.
   * notBefore is backdated 5 minutes by certs.ts, so the default 10 minutes
   * gives the API servers at least 5 minutes to see the new caBundle.
   */
  caPropagationMs: number;
}

export const DEFAULT_RENEW_FRACTION = 2 / 3;
export const DEFAULT_CA_PROPAGATION_MS = 10 * 60 * 1000;

export function rotationPolicy(
  names: { dnsNames: string[]; ipAddresses?: string[] },
  overrides: Partial<RotationPolicy> = {},
): RotationPolicy {
  return {
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses ?? [],
    caDays: DEFAULT_CA_DAYS,
    leafDays: DEFAULT_LEAF_DAYS,
    renewFraction: DEFAULT_RENEW_FRACTION,
    caPropagationMs: DEFAULT_CA_PROPAGATION_MS,
    ...overrides,
  };
}

export interface RotationContext {
  now: Date;
  /** true when every webhook configuration found carries the current ca.crt (or none exists). */
  published: boolean;
}

export type RotationDecision =
  | { action: 'keep'; nextCheckAt: Date; waiting?: string }
  | {
      action: 'create' | 'stage-ca' | 'issue-leaf' | 'prune-bundle';
      reason: string;
      /** issue-leaf only: 'previous' while a staged CA is not published (see the top of this file). */
      signer?: Signer;
    };

/** Which CA signs an issued leaf: ca.key's, or ca-previous.key's. */
export type Signer = 'current' | 'previous';

export type RotationAction = Exclude<RotationDecision['action'], 'keep'>;

interface ParsedCa {
  pem: string;
  x509: X509Certificate;
  notBefore: number;
  notAfter: number;
}

interface Analysis {
  /** Bundle entries that are CA certificates valid now (not expired, and not starting later), in bundle order. */
  valid: ParsedCa[];
  /** How many entries ca.crt holds (including unusable ones). */
  entries: number;
  /** The valid CA whose key is ca.key. */
  current?: ParsedCa;
  /** The valid CA, other than current, whose key is ca-previous.key. */
  previous?: ParsedCa;
  leaf?: { x509: X509Certificate; notBefore: number; notAfter: number; keyMatches: boolean; issuer?: ParsedCa };
}

const MAX_TIMER_HORIZON_MS = 365 * 24 * 3600 * 1000;

export function decideRotation(
  material: TlsMaterial | undefined,
  policy: RotationPolicy,
  ctx: RotationContext,
): RotationDecision {
  if (!material) return { action: 'create', reason: 'no TLS material yet' };
  const now = ctx.now.getTime();
  const a = analyze(material, now);
  if (a.valid.length === 0)
    return {
      action: 'create',
      reason:
        a.entries === 0
          ? 'ca.crt holds no certificate'
          : 'every CA in ca.crt has expired, is not valid yet or is not a CA',
    };
  if (!a.current) return { action: 'stage-ca', reason: 'ca.key does not belong to a valid CA in ca.crt' };
  if (a.valid.length !== a.entries)
    return { action: 'prune-bundle', reason: 'ca.crt holds an expired or unusable certificate' };
  const current = a.current;
  if (now >= renewAt(current, policy))
    return { action: 'stage-ca', reason: `the CA reached ${fraction(policy)} of its lifetime` };

  const openAt = current.notBefore + policy.caPropagationMs;
  const open = ctx.published && now >= openAt;
  // Until the current CA is published and propagated, a leaf issued now comes from the previous CA when its key is kept.
  const previous = open ? undefined : a.previous;
  const issue = (reason: string): RotationDecision =>
    previous
      ? {
          action: 'issue-leaf',
          reason: `${reason} (signed by the previous CA: the new one is not in use yet)`,
          signer: 'previous',
        }
      : { action: 'issue-leaf', reason };

  const leaf = a.leaf;
  if (!leaf) return issue('no parsable serving certificate');
  if (!leaf.keyMatches) return issue('tls.key does not match tls.crt');
  if (now >= leaf.notAfter) return issue('the serving certificate has expired');
  // Clients refuse it until then; the new one starts (backdated) before every clock that wrote or reads it.
  if (now < leaf.notBefore)
    return issue(
      `the serving certificate is not valid before ${new Date(leaf.notBefore).toISOString()} (written by a replica whose clock runs ahead?)`,
    );
  const missing = missingNames(leaf.x509, policy);
  if (missing.length > 0) return issue(`the serving certificate does not cover ${missing.join(', ')}`);
  if (!leaf.issuer) return issue('the serving certificate is not signed by a CA in ca.crt');

  const candidates = [renewAt(current, policy), ...a.valid.map((c) => c.notAfter)];
  const leafRenewAt = renewAt(leaf, policy);
  if (leaf.issuer !== current) {
    if (open) return { action: 'issue-leaf', reason: 'the serving certificate is signed by the previous CA' };
    const waiting = ctx.published
      ? 'the new CA is published; waiting for the API servers to pick it up'
      : 'waiting until the webhook configurations carry the new CA';
    // A leaf capped at the previous CA's end is not renewed again: the renewal would last no longer.
    const renewable = previous !== undefined && previous.notAfter > leaf.notAfter;
    if (renewable && now >= leafRenewAt)
      return issue(`the serving certificate reached ${fraction(policy)} of its lifetime`);
    return {
      action: 'keep',
      nextCheckAt: earliest(
        [...candidates, Math.max(openAt, now), leaf.notAfter, ...(renewable ? [leafRenewAt] : [])],
        now,
      ),
      waiting,
    };
  }
  if (now >= leafRenewAt) return issue(`the serving certificate reached ${fraction(policy)} of its lifetime`);
  return { action: 'keep', nextCheckAt: earliest([...candidates, leafRenewAt], now) };
}

/**
 * Performs one step decided by decideRotation() (issue-leaf with the decision's
 * signer); generates keys, so it takes milliseconds.
 */
export function applyRotation(
  material: TlsMaterial | undefined,
  action: RotationAction,
  policy: RotationPolicy,
  nowDate: Date,
  signer: Signer = 'current',
): TlsMaterial {
  const now = nowDate.getTime();
  const issue = (ca: { certPem: string; keyPem: string }) =>
    issueServingCert(ca, {
      dnsNames: policy.dnsNames,
      ipAddresses: policy.ipAddresses,
      days: policy.leafDays,
      now: nowDate,
    });
  if (action === 'create' || !material) {
    const ca = createCA({ days: policy.caDays, now: nowDate });
    const leaf = issue(ca);
    return { caBundlePem: ca.certPem, caKeyPem: ca.keyPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
  }
  const a = analyze(material, now);
  switch (action) {
    case 'stage-ca': {
      const ca = createCA({ days: policy.caDays, now: nowDate });
      // Keep what the served leaf and the clients may still rely on: the
      // leaf's issuer and the outgoing current CA.
      const kept = a.valid.filter((c) => c === a.leaf?.issuer || c === a.current);
      return withPreviousKey(
        { ...material, caBundlePem: joinPems([...kept.map((c) => c.pem), ca.certPem]), caKeyPem: ca.keyPem },
        keyOfLeafIssuer(material, a),
      );
    }
    case 'prune-bundle':
      return withPreviousKey(
        { ...material, caBundlePem: joinPems(a.valid.map((c) => c.pem)) },
        a.previous ? material.previousCaKeyPem : undefined,
      );
    case 'issue-leaf': {
      if (signer === 'previous') {
        if (!a.previous)
          throw new Error(
            'cannot issue a serving certificate: ca-previous.key does not belong to a valid CA in ca.crt',
          );
        const leaf = issue({ certPem: a.previous.pem, keyPem: material.previousCaKeyPem! });
        return { ...material, certPem: leaf.certPem, keyPem: leaf.keyPem };
      }
      if (!a.current)
        throw new Error('cannot issue a serving certificate: ca.key does not belong to a valid CA in ca.crt');
      const leaf = issue({ certPem: a.current.pem, keyPem: material.caKeyPem });
      // The leaf has moved to the current CA: the previous key signs nothing any more.
      return withPreviousKey({ ...material, certPem: leaf.certPem, keyPem: leaf.keyPem }, undefined);
    }
  }
}

/** The key of the CA that signed the served leaf, when the Secret holds it. */
function keyOfLeafIssuer(material: TlsMaterial, a: Analysis): string | undefined {
  const issuer = a.leaf?.issuer;
  if (!issuer) return undefined;
  if (issuer === a.current) return material.caKeyPem;
  if (issuer === a.previous) return material.previousCaKeyPem;
  return undefined;
}

function withPreviousKey(material: TlsMaterial, previousCaKeyPem: string | undefined): TlsMaterial {
  const { previousCaKeyPem: _dropped, ...rest } = material;
  return previousCaKeyPem ? { ...rest, previousCaKeyPem } : rest;
}

/**
 * `next` with the still-valid CA that signed `served`'s leaf added to its
 * bundle. Used when the material starts over (Secret deleted or corrupted)
 * while replicas still serve the previous leaf: the API server keeps
 * trusting them until they pick up the new Secret. Pruned once it expires.
 */
export function keepServedIssuer(next: TlsMaterial, served: TlsMaterial | undefined, nowDate: Date): TlsMaterial {
  if (!served) return next;
  const issuer = analyze(served, nowDate.getTime()).leaf?.issuer;
  if (!issuer) return next;
  const fingerprints = splitPemBundle(next.caBundlePem).map((p) => parseCert(p)?.fingerprint256);
  if (fingerprints.includes(issuer.x509.fingerprint256)) return next;
  return { ...next, caBundlePem: joinPems([issuer.pem, ...splitPemBundle(next.caBundlePem)]) };
}

/** The certificate's notAfter, or undefined if it does not parse. */
export function certNotAfter(certPem: string): Date | undefined {
  try {
    return new Date(new X509Certificate(certPem).validTo);
  } catch {
    return undefined;
  }
}

function analyze(material: TlsMaterial, now: number): Analysis {
  const pems = splitPemBundle(material.caBundlePem);
  const valid: ParsedCa[] = [];
  for (const pem of pems) {
    const x509 = parseCert(pem);
    if (!x509?.ca) continue;
    const ca = { pem, x509, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) };
    // A CA from a clock running ahead is not valid yet for anyone else, the API server included.
    if (ca.notBefore <= now && now < ca.notAfter) valid.push(ca);
  }
  const caKey = parseKey(material.caKeyPem);
  // The newest match wins if a key was ever reused across bundle entries.
  const current = caKey ? [...valid].reverse().find((c) => safe(() => c.x509.checkPrivateKey(caKey))) : undefined;
  const previousKey = parseKey(material.previousCaKeyPem ?? '');
  const previous = previousKey
    ? valid.find((c) => c !== current && safe(() => c.x509.checkPrivateKey(previousKey)))
    : undefined;
  const analysis: Analysis = {
    valid,
    entries: pems.length,
    ...(current ? { current } : {}),
    ...(previous ? { previous } : {}),
  };
  const leafX509 = parseCert(material.certPem);
  if (leafX509 && !leafX509.ca) {
    const key = parseKey(material.keyPem);
    const issuer = valid.find((c) => safe(() => leafX509.checkIssued(c.x509) && leafX509.verify(c.x509.publicKey)));
    analysis.leaf = {
      x509: leafX509,
      notBefore: Date.parse(leafX509.validFrom),
      notAfter: Date.parse(leafX509.validTo),
      keyMatches: key !== undefined && safe(() => leafX509.checkPrivateKey(key)),
      ...(issuer ? { issuer } : {}),
    };
  }
  return analysis;
}

function missingNames(x509: X509Certificate, policy: RotationPolicy): string[] {
  const sans = (x509.subjectAltName ?? '').split(/,\s*/);
  const dns = new Set(sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase()));
  const ips = new Set(
    sans.filter((s) => s.startsWith('IP Address:')).map((s) => normalizeIp(s.slice('IP Address:'.length))),
  );
  return [
    ...policy.dnsNames.filter((n) => !dns.has(n.toLowerCase())),
    ...policy.ipAddresses.filter((ip) => !ips.has(normalizeIp(ip))),
  ];
}

/** OpenSSL prints IPv6 SANs expanded (0:0:0:0:0:0:0:1); compare on the parsed address. */
function normalizeIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

function renewAt(cert: { notBefore: number; notAfter: number }, policy: RotationPolicy): number {
  return cert.notBefore + Math.floor((cert.notAfter - cert.notBefore) * policy.renewFraction);
}

function earliest(instants: number[], now: number): Date {
  const future = instants.filter((t) => t > now);
  return new Date(future.length > 0 ? Math.min(...future) : now + MAX_TIMER_HORIZON_MS);
}

const fraction = (policy: RotationPolicy) => `${Math.round(policy.renewFraction * 100)}%`;

function joinPems(pems: string[]): string {
  return pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

function parseCert(pem: string): X509Certificate | undefined {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function parseKey(pem: string) {
  if (!pem) return undefined;
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}

function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
