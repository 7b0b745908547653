// The work queue behind the namespace-defaults controller: de-duplicated keys,
// one processing of a key at a time, per-key exponential backoff with a cap.
// Backoffs run on node:test's fake setTimeout; nothing here waits in real time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { WorkQueue } from '../../src/util/work-queue.js';

const options = { baseDelayMs: 100, maxDelayMs: 350 };

/** Everything queued right now, taken one by one (each marked done). */
async function drain(queue: WorkQueue<string>): Promise<string[]> {
  const out: string[] = [];
  while (!queue.idle()) {
    const key = (await queue.get())!;
    out.push(key);
    queue.done(key);
  }
  return out;
}

describe('WorkQueue', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('a key added again while it waits is handed out once, in first-added order', async () => {
    const queue = new WorkQueue<string>(options);
    for (const key of ['a', 'b', 'a', 'c', 'b']) queue.add(key);
    assert.deepEqual(await drain(queue), ['a', 'b', 'c']);
  });

  test('a key added while it is processed comes back after done(), never twice at once', async () => {
    const queue = new WorkQueue<string>(options);
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    queue.add('a');
    assert.equal(queue.idle(), false);
    // Not handed out again while 'a' is still being processed.
    queue.add('b');
    assert.equal(await queue.get(), 'b');
    queue.done('b');
    queue.done(first!);
    assert.deepEqual(await drain(queue), ['a']);
    assert.equal(queue.idle(), true);
  });

  test('get() waits for an add, and hands it out on a later turn of the event loop', async () => {
    const queue = new WorkQueue<string>(options);
    const next = queue.get();
    queue.add('x');
    queue.add('y'); // same burst: already queued when get() resumes
    assert.equal(await next, 'x');
    assert.equal(await queue.get(), 'y');
  });

  test('failures back off per key: base, doubled each time, capped; forget() starts over', async () => {
    const queue = new WorkQueue<string>(options);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      queue.add('k');
      const key = (await queue.get())!;
      const delay = queue.addRateLimited(key);
      queue.done(key);
      delays.push(delay);
      mock.timers.tick(delay - 1);
      assert.equal(queue.idle(), true, `retry ${i + 1} is not due before ${delay} ms`);
      mock.timers.tick(1);
      assert.equal(queue.idle(), false, `retry ${i + 1} is due at ${delay} ms`);
      assert.equal(await queue.get(), 'k');
      queue.done('k');
    }
    assert.deepEqual(delays, [100, 200, 350, 350]);
    assert.equal(queue.failuresOf('k'), 4);
    queue.forget('k');
    assert.equal(queue.failuresOf('k'), 0);
    assert.equal(queue.addRateLimited('k'), 100);
    // Another key has its own count.
    assert.equal(queue.addRateLimited('other'), 100);
  });

  test('whenIdle() resolves once the last key is done', async () => {
    const queue = new WorkQueue<string>(options);
    queue.add('a');
    let idle = false;
    const whenIdle = queue.whenIdle().then(() => (idle = true));
    const key = (await queue.get())!;
    await Promise.resolve();
    assert.equal(idle, false);
    queue.done(key);
    await whenIdle;
    assert.equal(idle, true);
  });

  test('shutDown() ends waiting get() calls and cancels backoffs', async () => {
    const queue = new WorkQueue<string>(options);
    const waiting = queue.get();
    queue.addRateLimited('later');
    queue.shutDown();
    assert.equal(await waiting, undefined);
    mock.timers.tick(10_000);
    assert.equal(await queue.get(), undefined);
    queue.add('ignored');
    assert.equal(queue.idle(), true);
  });
});
