// Reservations must never lift a rule (issue 14), through `serve --standalone
// --state examples/state.yaml` over HTTPS: an admitted write that the API
// server never stores (AlreadyExists, a later webhook's denial) adds its
// constraints beside the stored object's and removes none; a CREATE with
// only generateName is reserved like any other. Before, the reserved version
// replaced the stored one for its TTL, and generateName-only CREATEs were not
// reserved at all. The stale-view half (a reservation outlives its TTL while
// the view is cut off) is in reservations-stale.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { serveConfigOf } from '../../src/cli.js';
import { serve, type RunningServer } from '../../src/main.js';
import { sidecarReview } from '../helpers/app.js';
import { pod, sidecar } from '../helpers/objects.js';
import { httpsRequest } from './helpers.js';

interface Answer {
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

describe('a write that is never stored adds constraints and lifts none (serve --state examples/state.yaml)', () => {
  let dir: string;
  let server: RunningServer;
  let port: number;
  let caPem: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-reservations-'));
    // Beside examples/state.yaml's namespace-wide shop/default: a selector Sidecar for the overlap
    // rule, and a namespace-wide billing/default so that each case starts from a stored object alone.
    const extra = join(dir, 'more.json');
    // Pods carrying app=reviews and app=ratings make those selectors conflict under the default --overlap (workloads).
    // In namespace many, pods of app=web in five versions: one Sidecar per version conflicts with none of the others.
    const items = [
      sidecar('shop', 'reviews', { selector: { app: 'reviews' } }),
      sidecar('billing', 'default'),
      pod('shop', 'reviews-1', { app: 'reviews' }),
      pod('shop', 'ratings-1', { app: 'ratings' }),
      ...[1, 2, 3, 4, 5].map((v) => pod('many', `web-v${v}`, { app: 'web', version: `v${v}` })),
    ];
    writeFileSync(extra, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const args = [
      '--standalone',
      '--state',
      'examples/state.yaml',
      '--state',
      extra,
      '--listen',
      '127.0.0.1:0',
      '--cert-dir',
      dir,
      '--metrics-listen',
      'off',
      '--log-level',
      'silent',
    ];
    server = await serve(serveConfigOf(args), pino({ level: 'silent' }));
    port = Number(new URL(server.url).port);
    caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  });

  after(async () => {
    await server?.shutdown('test');
    rmSync(dir, { recursive: true, force: true });
  });

  async function post(review: unknown): Promise<Answer> {
    const res = await httpsRequest(port, { path: '/validate', body: JSON.stringify(review), caPem });
    assert.equal(res.status, 200, res.error ?? res.body);
    const response = JSON.parse(res.body!).response as {
      allowed: boolean;
      status?: { message: string };
      warnings?: string[];
    };
    return {
      allowed: response.allowed,
      ...(response.status ? { message: response.status.message } : {}),
      warnings: response.warnings ?? [],
    };
  }
  const create = (object: Record<string, unknown>) => post(sidecarReview(object));
  const update = (object: Record<string, unknown>, oldObject: Record<string, unknown>) =>
    post(sidecarReview(object, { operation: 'UPDATE', oldObject }));

  test('CREATE default with a selector (the API server answers AlreadyExists), then CREATE second: still denied, naming the stored default', async () => {
    assert.equal((await create(sidecar('shop', 'second'))).allowed, false, 'denied before');
    const again = await create(sidecar('shop', 'default', { selector: { app: 'canary' } }));
    assert.equal(again.allowed, true, 'the CREATE itself conflicts with nothing (it is the same name)');
    const second = await create(sidecar('shop', 'second'));
    assert.equal(second.allowed, false);
    assert.match(second.message!, /namespace "shop" already has a namespace-wide Sidecar: default/);
  });

  test('an UPDATE that gives default a selector, which a later webhook denies: the stored namespace-wide default still counts', async () => {
    const stored = sidecar('billing', 'default');
    assert.equal((await update(sidecar('billing', 'default', { selector: { app: 'billing' } }), stored)).allowed, true);
    const second = await create(sidecar('billing', 'second'));
    assert.equal(second.allowed, false);
    assert.match(second.message!, /namespace "billing" already has a namespace-wide Sidecar: default/);
  });

  test('the overlap rule: an UPDATE moving reviews from app=reviews to app=ratings, never stored; a CREATE selecting app=reviews is still denied', async () => {
    const stored = sidecar('shop', 'reviews', { selector: { app: 'reviews' } });
    assert.equal((await update(sidecar('shop', 'reviews', { selector: { app: 'ratings' } }), stored)).allowed, true);
    const copy = await create(sidecar('shop', 'reviews-copy', { selector: { app: 'reviews' } }));
    assert.equal(copy.allowed, false);
    assert.match(
      copy.message!,
      /selects the same workloads as Sidecar shop\/reviews: both apply to pods labelled app=reviews/,
    );
    // And the pending version counts too: app=ratings is taken until the view says otherwise.
    const ratings = await create(sidecar('shop', 'ratings', { selector: { app: 'ratings' } }));
    assert.equal(ratings.allowed, false);
    assert.match(
      ratings.message!,
      /selects the same workloads as Sidecar shop\/reviews: both apply to pods labelled app=ratings/,
    );
  });

  // Each replica's namespace-defaults controller creates the same default: every CREATE is admitted (the same
  // name is no conflict), all but one then fail with AlreadyExists, and until the rest expire they count.
  test('the same Sidecar admitted three times, stored never: the next one is denied naming it once, and why it still counts', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await create(sidecar('trio', 'default'))).allowed, true);
    const mine = await create(sidecar('trio', 'mine'));
    assert.equal(mine.allowed, false);
    assert.equal(mine.message!.match(/already has a namespace-wide Sidecar: default/g)?.length, 1, mine.message);
    assert.match(mine.message!, /^Sidecar trio\/mine is invalid: /, 'one error, not "(3 errors)"');
    assert.ok(
      mine.warnings!.some((w) =>
        /^Sidecar trio\/default \(admitted \d+s ago, 3 times\): admitted but not stored yet; counted as existing until the view shows it, or for up to \d+s more if its write failed \(AlreadyExists, a later webhook, a timeout\)$/.test(
          w,
        ),
      ),
      JSON.stringify(mine.warnings),
    );
  });

  test('five pending Sidecars a denial names: the warning names three of them, then "and 2 more"', async () => {
    for (let v = 1; v <= 5; v++)
      assert.equal(
        (await create(sidecar('many', `web-v${v}`, { selector: { app: 'web', version: `v${v}` } }))).allowed,
        true,
      );
    const all = await create(sidecar('many', 'web', { selector: { app: 'web' } }));
    assert.equal(all.allowed, false);
    assert.match(all.message!, /^Sidecar many\/web is invalid \(5 errors\):/);
    const pending = all.warnings!.filter((w) => w.includes('admitted but not stored yet'));
    assert.equal(pending.length, 1, JSON.stringify(all.warnings));
    assert.match(
      pending[0]!,
      /^Sidecar many\/web-v\d \(admitted \d+s ago\), Sidecar many\/web-v\d \(admitted \d+s ago\), Sidecar many\/web-v\d \(admitted \d+s ago\) and 2 more: admitted but not stored yet;/,
    );
  });

  test('a pending Sidecar the denial does not name is not mentioned', async () => {
    assert.equal((await create(sidecar('billing', 'unrelated', { selector: { app: 'zzz' } }))).allowed, true);
    const second = await create(sidecar('billing', 'second'));
    assert.equal(second.allowed, false, 'denied for the stored billing/default');
    assert.deepEqual(
      second.warnings!.filter((w) => w.includes('admitted')),
      [],
    );
  });

  test('CREATEs with only generateName are reserved too: in a fresh namespace one namespace-wide Sidecar is admitted, named or not', async () => {
    const generated = () => {
      const object = sidecar('fresh', 'x');
      const metadata = object.metadata as Record<string, unknown>;
      delete metadata.name;
      metadata.generateName = 'gen-';
      return object;
    };
    const answers = [
      await create(generated()),
      await create(generated()),
      await create(generated()),
      await create(sidecar('fresh', 'named')),
    ];
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [true, false, false, false],
    );
    for (const a of answers.slice(1))
      assert.match(a.message!, /namespace "fresh" already has a namespace-wide Sidecar: gen-<generated [0-9a-f]+>/);
  });
});
