import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { needsClaim } from '../../src/cluster/admitter.js';
import {
  newerVersion,
  reservationOf,
  Reservations,
  sidecarViewCurrentAsOf,
  WATCH_SETTLE_MS,
  type Reservation,
} from '../../src/cluster/reservations.js';
import { ClusterStore } from '../../src/cluster/store.js';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';

const AT = { replica: 'r1', now: 1_000, ttlMs: 10_000 };

function stored(
  namespace: string,
  name: string,
  uid: string,
  resourceVersion: string,
  selector?: Record<string, string>,
) {
  const object = sidecar(namespace, name, selector ? { selector } : {});
  return { ...object, metadata: { ...(object.metadata as object), uid, resourceVersion } };
}

const request = (
  object: Record<string, unknown>,
  opts: { operation?: string; oldObject?: unknown; dryRun?: boolean } = {},
) => sidecarReview(object, opts).request as unknown as AdmissionRequest;

function reserve(
  object: Record<string, unknown>,
  opts: { operation?: string; oldObject?: unknown } = {},
  at = AT,
): Reservation {
  return reservationOf(request(object, opts), at)!;
}

describe('reservationOf', () => {
  test('keys: c.<uid> for a CREATE, u.<uid>.<version replaced> for an UPDATE, g.<random> without a uid', () => {
    assert.equal(reserve(stored('a', 'x', 'u-1', '7')).key, 'c.u-1');
    const update = reserve(stored('a', 'x', 'u-1', '7', { app: 'y' }), {
      operation: 'UPDATE',
      oldObject: stored('a', 'x', 'u-1', '7'),
    });
    assert.equal(update.key, 'u.u-1.7');
    assert.equal(update.replaces, '7');
    const a = reserve(sidecar('a', 'x'));
    const b = reserve(sidecar('a', 'x'));
    assert.match(a.key, /^g\.[0-9a-f]{16}$/);
    assert.notEqual(a.key, b.key);
  });

  test('a generateName-only CREATE gets a name no other Sidecar has; an unsafe uid is hashed into the key', () => {
    const object = sidecar('a', 'x');
    delete (object.metadata as Record<string, unknown>).name;
    (object.metadata as Record<string, unknown>).generateName = 'web-';
    const r = reserve(object);
    assert.match(r.info.name, /^web-<generated [0-9a-f]{16}>$/);
    assert.equal(r.info.selector, null);
    const odd = reserve({ ...sidecar('a', 'x'), metadata: { name: 'x', namespace: 'a', uid: 'not/safe for a key' } });
    assert.match(odd.key, /^c\.[0-9a-f]{32}$/);
    assert.equal(odd.uid, 'not/safe for a key');
  });

  test('expiry = admission + TTL; the managed-by label is kept for the way-out hint', () => {
    const r = reserve(sidecar('a', 'x', { labels: { 'app.kubernetes.io/managed-by': 'sidecar-guard', team: 'b' } }));
    assert.equal(r.expiresAt, 11_000);
    assert.deepEqual({ ...r.info.labels }, { 'app.kubernetes.io/managed-by': 'sidecar-guard' });
  });

  test('the istio.io/rev label is kept beside the managed-by label: which istiod reads it decides what it conflicts with', () => {
    const both = reserve(
      sidecar('a', 'x', {
        labels: { 'app.kubernetes.io/managed-by': 'sidecar-guard', 'istio.io/rev': 'canary', team: 'b' },
      }),
    );
    assert.deepEqual(
      { ...both.info.labels },
      { 'app.kubernetes.io/managed-by': 'sidecar-guard', 'istio.io/rev': 'canary' },
    );
    assert.deepEqual(
      { ...reserve(sidecar('a', 'x', { labels: { 'istio.io/rev': '' } })).info.labels },
      {
        'istio.io/rev': '',
      },
    );
    assert.deepEqual({ ...reserve(sidecar('a', 'x', { labels: { team: 'b' } })).info.labels }, {});
  });
});

describe('needsClaim', () => {
  test('a CREATE, or an UPDATE that changes whether or what the Sidecar selects; never a dry run', () => {
    assert.equal(needsClaim(request(sidecar('a', 'x'))), true);
    assert.equal(needsClaim(request(sidecar('a', 'x'), { dryRun: true })), false);
    const wide = sidecar('a', 'x');
    const app = sidecar('a', 'x', { selector: { app: 'y' } });
    assert.equal(needsClaim(request(wide, { operation: 'UPDATE', oldObject: wide })), false, 'spec change only');
    assert.equal(needsClaim(request(app, { operation: 'UPDATE', oldObject: wide })), true);
    assert.equal(needsClaim(request(wide, { operation: 'UPDATE', oldObject: app })), true);
    assert.equal(
      needsClaim(request(sidecar('a', 'x', { selector: { app: 'z' } }), { operation: 'UPDATE', oldObject: app })),
      true,
    );
    assert.equal(
      needsClaim(request(sidecar('a', 'x', { selector: { app: 'y' } }), { operation: 'UPDATE', oldObject: app })),
      false,
    );
    assert.equal(needsClaim(request(app, { operation: 'UPDATE' })), true, 'no oldObject: judged like a CREATE');
  });
});

describe('Reservations', () => {
  function setup(opts: { asOf?: number } = {}) {
    let now = 1_000;
    let asOf = opts.asOf;
    const store = new ClusterStore();
    const expired: Reservation[] = [];
    const reservations = new Reservations({
      view: store,
      now: () => now,
      viewCurrentAsOf: () => asOf ?? now,
      replica: 'r1',
      onExpiredUnobserved: (r) => expired.push(r),
      forgetAfterMs: 5_000,
    });
    return {
      store,
      reservations,
      expired,
      at: (t: number) => {
        now = t;
      },
      current: (t: number | undefined) => {
        asOf = t;
      },
    };
  }

  test('pending Sidecars sit beside the stored ones, never in their place', () => {
    const { store, reservations } = setup();
    store.upsertSidecar(stored('a', 'default', 'u-0', '5'));
    reservations.add(
      reserve(stored('a', 'default', 'u-0', '5', { app: 'y' }), {
        operation: 'UPDATE',
        oldObject: stored('a', 'default', 'u-0', '5'),
      }),
    );
    const view = reservations.overlay();
    assert.deepEqual(
      view.namespaceWide('a').map((s) => s.name),
      ['default'],
      'the stored namespace-wide version still counts',
    );
    assert.deepEqual(
      view.sidecars('a').map((s) => (s.selector ? { ...s.selector } : null)),
      [null, { app: 'y' }],
    );
  });

  test('one overlay reads the reservations as they are at each call; it visits the stored Sidecars the store finds for the pairs, then every pending one, extras last', () => {
    const { store, reservations } = setup();
    store.upsertSidecar(stored('a', 'default', 'u-0', '5'));
    store.upsertSidecar(stored('a', 's', 'u-9', '5', { app: 'x' }));
    const view = reservations.overlay();
    assert.equal(reservations.overlay(), view, 'one view for every decision');
    const names = (v: typeof view, pairs: readonly string[]) => {
      const seen: string[] = [];
      v.forEachSidecarCompatibleWith('a', pairs, (s) => seen.push(s.name));
      return seen;
    };
    assert.deepEqual(names(view, ['app', 'x']), ['s']);
    assert.deepEqual(names(view, ['app', 'y']), [], 'every stored selector names app: only app=y could be compatible');
    reservations.add(reserve(stored('a', 'x', 'u-1', '', { app: 'x' })));
    assert.deepEqual(names(view, ['app', 'y']), ['x'], 'added after the view was made; pending ones are all visited');
    const batch = [reserve(stored('a', 'y', 'u-2', '', { app: 'y' }))];
    assert.deepEqual(
      names(
        reservations.overlay(() => batch),
        ['app', 'x'],
      ),
      ['s', 'x', 'y'],
    );
    store.upsertSidecar(stored('a', 'x', 'u-1', '6', { app: 'x' }));
    assert.deepEqual(names(view, ['app', 'x']), ['s', 'x'], 'seen in the view: counted once, found by the store');
    assert.equal(reservations.size(), 0);
  });

  test('a CREATE stops counting when the view shows its uid, not merely its name', () => {
    const { store, reservations } = setup();
    reservations.add(reserve(stored('a', 'x', 'u-new', '')));
    store.upsertSidecar(stored('a', 'x', 'u-other', '9'));
    assert.equal(reservations.size(), 1, 'another object of that name (AlreadyExists) does not end it');
    store.upsertSidecar(stored('a', 'x', 'u-new', '10'));
    assert.equal(reservations.size(), 0);
  });

  test('an UPDATE stops counting only when the view is past the version it replaced', () => {
    const { store, reservations } = setup();
    store.upsertSidecar(stored('a', 'x', 'u-1', '99'));
    reservations.add(
      reserve(stored('a', 'x', 'u-1', '100', { app: 'y' }), {
        operation: 'UPDATE',
        oldObject: stored('a', 'x', 'u-1', '100'),
      }),
    );
    assert.equal(reservations.size(), 1, 'the view still shows an older version');
    store.upsertSidecar(stored('a', 'x', 'u-1', '100'));
    assert.equal(reservations.size(), 1, 'the version it replaced');
    store.upsertSidecar(stored('a', 'x', 'u-1', '101'));
    assert.equal(reservations.size(), 0);
  });

  test('expiry ends an unobserved one only once the view is current past it; only our own are reported', () => {
    const { reservations, expired, at, current } = setup({ asOf: 0 });
    const ours = reserve(stored('a', 'x', 'u-1', ''));
    const theirs = reserve(stored('a', 'y', 'u-2', ''), {}, { ...AT, replica: 'r2' });
    reservations.add(ours);
    reservations.add(theirs);
    at(50_000);
    assert.equal(reservations.size(), 2, 'the view is stuck at 0: nothing expires');
    assert.deepEqual(
      reservations.overdue('a').map((r) => r.info.name),
      ['x', 'y'],
    );
    current(10_999);
    assert.equal(reservations.size(), 2, 'current up to just before the expiry');
    current(11_000);
    assert.equal(reservations.size(), 0);
    assert.deepEqual(
      expired.map((r) => r.key),
      ['c.u-1'],
    );
  });

  test('a namespace replaced from the claims object keeps out what already stopped counting here', () => {
    const { store, reservations, at, current } = setup();
    const claim = reserve(stored('a', 'x', 'u-1', ''));
    reservations.replaceNamespace('a', [claim]);
    store.upsertSidecar(stored('a', 'x', 'u-1', '3'));
    store.deleteSidecar('a', 'x');
    reservations.replaceNamespace('a', [claim]);
    assert.equal(reservations.size(), 0, 'seen (and deleted since): read again, it does not come back');
    at(11_000 + 5_000);
    current(0);
    reservations.replaceNamespace('a', [claim]);
    assert.equal(
      reservations.size(),
      1,
      'forgotten after forgetAfterMs past its expiry (by then the object has dropped it)',
    );
  });

  test('what the view already shows never counts: a claim read after its object was stored, an UPDATE the view is past', () => {
    const { store, reservations } = setup();
    store.upsertSidecar(stored('a', 'x', 'u-1', '3', { app: 'x' }));
    store.upsertSidecar(stored('a', 'y', 'u-2', '7', { app: 'y' }));
    reservations.replaceNamespace('a', [
      reserve(stored('a', 'y', 'u-2', '', { app: 'y' })),
      reserve(stored('a', 'z', 'u-3', '', { app: 'z' })),
    ]);
    assert.deepEqual(
      reservations.pending('a').map((r) => r.info.name),
      ['z'],
      'a claim for a stored object is dropped as it is read; the other one counts',
    );
    reservations.add(
      reserve(stored('a', 'x', 'u-1', '2', { app: 'w' }), {
        operation: 'UPDATE',
        oldObject: stored('a', 'x', 'u-1', '2', { app: 'x' }),
      }),
    );
    assert.deepEqual(
      reservations.pending('a').map((r) => r.info.name),
      ['z'],
      'an UPDATE whose replaced version the view is already past (its write will fail with a conflict)',
    );
  });

  test('the view tells the reservations of its changes itself: nobody wires the store to them', () => {
    const store = new ClusterStore();
    const reservations = new Reservations({ view: store, now: () => AT.now });
    reservations.add(reserve(stored('a', 'x', 'u-1', '')));
    assert.equal(reservations.size(), 1);
    store.replaceSidecars([stored('a', 'x', 'u-1', '4')]);
    assert.equal(reservations.size(), 0, 'shown by a re-list');
  });

  test('reservations of one namespace expire one by one, each at its own time', () => {
    const { reservations, expired, at } = setup();
    reservations.add(reserve(stored('a', 'x', 'u-1', '')));
    reservations.add(reserve(stored('a', 'y', 'u-2', ''), {}, { ...AT, now: 5_000 }));
    reservations.add(reserve(stored('a', 'z', 'u-3', ''), {}, { ...AT, now: 3_000 }));
    const names = () => reservations.pending('a').map((r) => r.info.name);
    at(10_999);
    assert.deepEqual(names(), ['x', 'y', 'z']);
    at(11_000);
    assert.deepEqual(names(), ['y', 'z']);
    at(13_000);
    assert.deepEqual(names(), ['y']);
    reservations.add(reserve(stored('a', 'w', 'u-4', ''), {}, { ...AT, now: 2_000 }));
    assert.deepEqual(names(), ['y'], 'one added already past its expiry ends at the next look');
    at(15_000);
    assert.deepEqual(names(), []);
    assert.deepEqual(
      expired.map((r) => r.key),
      ['c.u-1', 'c.u-3', 'c.u-4', 'c.u-2'],
    );
  });

  test('a cap per namespace: beyond it, add() refuses with Undecided', () => {
    const reservations = new Reservations({ view: new ClusterStore(), maxPerNamespace: 2 });
    reservations.add(reserve(sidecar('a', 'x')));
    reservations.add(reserve(sidecar('a', 'y')));
    assert.throws(() => reservations.add(reserve(sidecar('a', 'z'))), { name: 'Undecided', reason: 'capacity' });
    reservations.add(reserve(sidecar('b', 'z')));
  });
});

describe('view freshness and versions', () => {
  test('sidecarViewCurrentAsOf: never before the first list; now less the settle time while watching; else the last moment known', () => {
    assert.equal(sidecarViewCurrentAsOf(undefined, 100_000), -Infinity);
    assert.equal(sidecarViewCurrentAsOf({ synced: false, connected: false }, 100_000), -Infinity);
    assert.equal(sidecarViewCurrentAsOf({ synced: true, connected: true }, 100_000), 100_000 - WATCH_SETTLE_MS);
    assert.equal(
      sidecarViewCurrentAsOf(
        { synced: true, connected: false, disconnectedSince: 40_000, lastSyncAt: 70_000 },
        100_000,
      ),
      70_000 - WATCH_SETTLE_MS,
    );
    assert.equal(
      sidecarViewCurrentAsOf(
        { synced: true, connected: false, disconnectedSince: 80_000, lastSyncAt: 70_000 },
        100_000,
      ),
      80_000 - WATCH_SETTLE_MS,
    );
  });

  test('newerVersion compares etcd revisions as numbers, anything else by inequality', () => {
    assert.equal(newerVersion('100', '99'), true);
    assert.equal(newerVersion('99', '100'), false);
    assert.equal(newerVersion('100', '100'), false);
    assert.equal(newerVersion(undefined, '1'), false);
    assert.equal(newerVersion('abc', 'abd'), true);
    assert.equal(newerVersion('5', ''), false, 'unknown: never');
  });
});
