// Claims in the API server (--claims=api): before a replica answers `allowed`
// for a Sidecar write that could conflict with another, it records a claim
// that every other replica consults before deciding. One ConfigMap per
// Sidecar namespace, `sidecar-guard-claims.<namespace>` in sidecar-guard's own
// namespace, holds that namespace's claims, one data entry each. Every write
// is a PUT with the resourceVersion last read (or a POST creating it), so two
// replicas cannot both write on top of the same version: the loser gets
// 409 Conflict (or AlreadyExists), re-reads and decides again against the
// claims now present. That makes the decisions of one namespace linearisable
// across any number of replicas without a leader.
//
// A claim stays in the object until `pruneAfterMs` past its expiry (see
// Reservations for when it stops counting on a replica). A replica whose
// view is older than that cannot trust the object to name everything it
// missed, and refuses to claim (see Admitter).
import { Undecided } from '../admission/decision.js';
import { isRecord } from '../util/json.js';
import { isStatus } from './kube-errors.js';
import type { KubeClient } from './kube.js';
import { pendingInfo, type Reservation } from './reservations.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../sidecar/managed.js';
import { revisionIn } from '../sidecar/revisions.js';
import type { Labels } from '../sidecar/selectors.js';

/** What the Admitter needs of a claim store; ApiClaims is the one that talks to the API server. */
export interface ClaimStore {
  /** The claims of a namespace as last read or written, or undefined before the first read. */
  known(namespace: string): readonly Reservation[] | undefined;
  /** Reads the namespace's claims from the API server (none when its object does not exist yet). */
  read(namespace: string, timeoutMs: number): Promise<readonly Reservation[]>;
  /**
   * Writes `added` on top of the version last read, dropping claims past
   * their pruning time. False when another replica wrote first: read, decide
   * again, retry. Throws on anything else (timeout, API errors).
   */
  write(namespace: string, added: readonly Reservation[], timeoutMs: number): Promise<boolean>;
}

export const CLAIMS_NAME_PREFIX = 'sidecar-guard-claims.';
export const CLAIMS_FOR_ANNOTATION = 'sidecar-guard.io/claims-for';
/** A ConfigMap holds at most 1 MiB; this leaves room for metadata. */
export const MAX_CLAIMS_BYTES = 900 * 1024;

export interface ApiClaimsOptions {
  client: KubeClient;
  /** sidecar-guard's own namespace, where the claims objects live. */
  namespace: string;
  /** How long past its expiry a claim is kept in the object (--max-staleness, plus the clock skew allowed between replicas). */
  pruneAfterMs: number;
  now?: () => number;
  maxBytes?: number;
}

interface Cached {
  /** undefined: the object does not exist (the next write creates it). */
  resourceVersion: string | undefined;
  claims: Reservation[];
  /** Each claim's data entry as stored: claims are never edited, so an entry is parsed and written once. */
  texts: Map<string, string>;
}

const ABSENT = (): Cached => ({ resourceVersion: undefined, claims: [], texts: new Map() });

export class ApiClaims implements ClaimStore {
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;

  constructor(private readonly options: ApiClaimsOptions) {
    this.now = options.now ?? Date.now;
  }

  known(namespace: string): readonly Reservation[] | undefined {
    return this.cache.get(namespace)?.claims;
  }

  async read(namespace: string, timeoutMs: number): Promise<readonly Reservation[]> {
    try {
      const { body } = await this.options.client.request('GET', this.path(namespace), { timeoutMs });
      return this.remember(namespace, body);
    } catch (err) {
      if (!isStatus(err, 'NotFound')) throw err;
      this.cache.set(namespace, ABSENT());
      return [];
    }
  }

  async write(namespace: string, added: readonly Reservation[], timeoutMs: number): Promise<boolean> {
    const current = this.cache.get(namespace) ?? ABSENT();
    const now = this.now();
    const keys = new Set(added.map((c) => c.key));
    const kept = current.claims.filter((c) => !keys.has(c.key) && c.expiresAt + this.options.pruneAfterMs > now);
    const object = claimsObject(
      this.options.namespace,
      namespace,
      [...kept, ...added],
      current.resourceVersion,
      current.texts,
    );
    const bytes = dataBytes(object.data);
    if (bytes > (this.options.maxBytes ?? MAX_CLAIMS_BYTES)) {
      throw new Undecided(
        `the claims of namespace "${namespace}" would take ${bytes} bytes, more than a ConfigMap holds: too many Sidecar writes in flight there`,
        'too-large',
      );
    }
    const creating = current.resourceVersion === undefined;
    try {
      const { body } = creating
        ? await this.options.client.request('POST', this.path(), { body: object, timeoutMs })
        : await this.options.client.request('PUT', this.path(namespace), { body: object, timeoutMs });
      this.remember(namespace, body);
      return true;
    } catch (err) {
      // Conflict: written since we read it. AlreadyExists: another replica created it first.
      if (isStatus(err, 'Conflict', 'AlreadyExists')) return false;
      // Deleted since we read it (by hand): the next attempt creates it again. (A create that finds
      // no namespace is an error: sidecar-guard's own namespace is missing.)
      if (!creating && isStatus(err, 'NotFound')) {
        this.cache.set(namespace, ABSENT());
        return false;
      }
      throw err;
    }
  }

  /** The object as read or written; entries already known (same key, same text) keep their parsed claim. */
  private remember(namespace: string, body: unknown): Reservation[] {
    const meta = isRecord(body) && isRecord(body.metadata) ? body.metadata : {};
    const data = isRecord(body) && isRecord(body.data) ? body.data : {};
    const before = this.cache.get(namespace);
    const known = new Map(before?.claims.map((c) => [c.key, c]));
    const claims: Reservation[] = [];
    const texts = new Map<string, string>();
    for (const [key, text] of Object.entries(data)) {
      if (typeof text !== 'string') continue;
      const claim = before?.texts.get(key) === text ? known.get(key) : claimsOf(namespace, { [key]: text })[0];
      if (!claim) continue;
      claims.push(claim);
      texts.set(key, text);
    }
    this.cache.set(namespace, {
      resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : undefined,
      claims,
      texts,
    });
    return claims;
  }

  private path(namespace?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.options.namespace)}/configmaps`;
    return namespace === undefined ? base : `${base}/${encodeURIComponent(claimsObjectName(namespace))}`;
  }
}

/** Namespace names are DNS labels (at most 63 characters), so the name stays a valid object name. */
export const claimsObjectName = (namespace: string): string => `${CLAIMS_NAME_PREFIX}${namespace}`;

/** One claim as stored: a data entry's value. Times are ISO strings so `kubectl get -o yaml` reads them. */
interface StoredClaim {
  name: string;
  uid?: string;
  /** null: namespace-wide. */
  selector: Record<string, string> | null;
  /** spec.workloadSelector set, but selecting nothing (`{}`): namespace-wide for the conflict rule, never a default for istiod. */
  emptySelector?: true;
  managed?: true;
  /** Its istio.io/rev label: a replica that does not know this field reads the claim as unlabelled, which conflicts with more, not less. */
  revision?: string;
  replaces?: string;
  replica: string;
  admitted: string;
  expires: string;
}

/** The ConfigMap holding these claims; `texts` are entries as already stored, reused as they are. */
export function claimsObject(
  selfNamespace: string,
  namespace: string,
  claims: readonly Reservation[],
  resourceVersion: string | undefined,
  texts?: ReadonlyMap<string, string>,
) {
  const data: Record<string, string> = {};
  for (const c of claims) data[c.key] = texts?.get(c.key) ?? JSON.stringify(storedClaim(c));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: claimsObjectName(namespace),
      namespace: selfNamespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'sidecar-guard' },
      annotations: { [CLAIMS_FOR_ANNOTATION]: namespace },
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    },
    data,
  };
}

function storedClaim(c: Reservation): StoredClaim {
  const revision = revisionIn(c.info.labels);
  return {
    name: c.info.name,
    ...(c.uid !== undefined ? { uid: c.uid } : {}),
    selector: c.info.selector ? { ...c.info.selector } : null,
    ...(c.info.selector === null && c.info.selectorPresent ? { emptySelector: true as const } : {}),
    ...(c.info.labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE ? { managed: true as const } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(c.replaces !== undefined ? { replaces: c.replaces } : {}),
    replica: c.replica,
    admitted: new Date(c.admittedAt).toISOString(),
    expires: new Date(c.expiresAt).toISOString(),
  };
}

/**
 * The claims of a ConfigMap's data. An entry that does not read as a claim
 * (edited by hand) is skipped: it cannot name what it would constrain.
 */
export function claimsOf(namespace: string, data: unknown): Reservation[] {
  if (!isRecord(data)) return [];
  const out: Reservation[] = [];
  for (const [key, value] of Object.entries(data)) {
    const claim = typeof value === 'string' ? parseClaim(value) : undefined;
    if (!claim) continue;
    const admittedAt = Date.parse(claim.admitted);
    const expiresAt = Date.parse(claim.expires);
    if (!Number.isFinite(admittedAt) || !Number.isFinite(expiresAt)) continue;
    out.push({
      key,
      info: pendingInfo(namespace, claim.name, {
        uid: claim.uid,
        selector: claim.selector,
        selectorPresent: claim.selector !== null || claim.emptySelector === true,
        managed: claim.managed === true,
        revision: claim.revision,
      }),
      ...(claim.uid !== undefined ? { uid: claim.uid } : {}),
      ...(claim.replaces !== undefined ? { replaces: claim.replaces } : {}),
      replica: claim.replica,
      admittedAt,
      expiresAt,
    });
  }
  return out;
}

function parseClaim(text: string): (Omit<StoredClaim, 'selector'> & { selector: Labels | null }) | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || typeof v.name !== 'string' || v.name === '' || typeof v.replica !== 'string') return undefined;
  if (typeof v.admitted !== 'string' || typeof v.expires !== 'string') return undefined;
  if (v.uid !== undefined && typeof v.uid !== 'string') return undefined;
  if (v.replaces !== undefined && typeof v.replaces !== 'string') return undefined;
  if (v.revision !== undefined && typeof v.revision !== 'string') return undefined;
  const selector = v.selector === null ? null : labelsOf(v.selector);
  if (selector === undefined) return undefined;
  return {
    name: v.name,
    ...(typeof v.uid === 'string' ? { uid: v.uid } : {}),
    selector,
    ...(v.managed === true ? { managed: true as const } : {}),
    ...(v.emptySelector === true ? { emptySelector: true as const } : {}),
    ...(typeof v.revision === 'string' ? { revision: v.revision } : {}),
    ...(typeof v.replaces === 'string' ? { replaces: v.replaces } : {}),
    replica: v.replica,
    admitted: v.admitted,
    expires: v.expires,
  };
}

/** A non-empty string map (the selector of a claim), or undefined. */
function labelsOf(v: unknown): Labels | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = Object.create(null);
  let n = 0;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') return undefined;
    out[k] = val;
    n++;
  }
  return n > 0 ? out : undefined;
}

function dataBytes(data: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(data)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}
