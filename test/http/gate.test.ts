// The admission gate alone, on a fake clock: the byte budget and its reserve
// for small bodies, the count, bodies that yield their place to newcomers,
// and bodies cut when they cannot arrive within their share of the deadline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdmissionGate, type GateLimits, type Ticket } from '../../src/http/gate.js';

const MiB = 1024 * 1024;
const LIMITS: GateLimits = {
  maxInflight: 32,
  maxBodyBytes: 16 * MiB,
  maxLargeBodyBytes: 7 * MiB,
  smallBodyBytes: 256 * 1024,
  bodyShare: 0.5,
  graceMs: 500,
  yieldAfterMs: 100,
};

function gate(limits: Partial<GateLimits> = {}) {
  let clock = 0;
  const g = new AdmissionGate({ ...LIMITS, ...limits }, () => clock);
  return {
    g,
    advance: (ms: number) => {
      clock += ms;
    },
    admit: (declared: number | undefined, deadlineMs = 10_000) =>
      g.admit({ declared, undeclaredBytes: 7 * MiB, deadlineMs }),
  };
}

const ticketOf = (r: ReturnType<AdmissionGate['admit']>): Ticket => {
  assert.ok('ticket' in r, `refused: ${'refusal' in r ? r.refusal.message : ''}`);
  return r.ticket;
};

describe('byte budget', () => {
  test('one 7 MiB body at a time; small reviews fill the rest of the budget, then are refused too', () => {
    const { g, admit } = gate({ maxInflight: 10_000 });
    ticketOf(admit(7 * MiB));
    const second = admit(7 * MiB);
    assert.ok('refusal' in second);
    assert.equal(second.refusal.status, 503);
    assert.match(second.refusal.message, /14680064 bytes of large bodies would be in flight \(limit 7340032\)/);
    assert.ok('refusal' in admit(300 * 1024), 'a body above smallBodyBytes is large');
    // The small ones: 9 MiB of them beside the large body.
    for (let i = 0; i < 9 * 256; i++) ticketOf(admit(4 * 1024));
    const full = admit(4 * 1024);
    assert.ok('refusal' in full);
    assert.match(full.refusal.message, /16781312 body bytes would be in flight \(limit 16777216\)/);
    assert.equal(g.reservedBytes, 16 * MiB);
  });

  test('large bodies share their lane: two of 3 MiB fit together', () => {
    const { admit } = gate();
    ticketOf(admit(3 * MiB));
    ticketOf(admit(3 * MiB));
    assert.ok('refusal' in admit(3 * MiB));
  });

  test('an undeclared (chunked) body reserves the whole 7 MiB body limit', () => {
    const { g, admit } = gate();
    ticketOf(admit(undefined));
    assert.equal(g.reservedBytes, 7 * MiB);
  });

  test('a released request gives its room back, once', () => {
    const { g, admit } = gate();
    const t = ticketOf(admit(7 * MiB));
    ticketOf(admit(MiB / 8));
    assert.ok('refusal' in admit(7 * MiB));
    g.release(t);
    g.release(t);
    assert.equal(g.reservedBytes, MiB / 8);
    assert.equal(g.inflight, 1);
    ticketOf(admit(7 * MiB));
  });

  test('the count bounds requests whatever their size', () => {
    const { admit } = gate({ maxInflight: 3 });
    for (let i = 0; i < 3; i++) ticketOf(admit(100));
    const fourth = admit(100);
    assert.ok('refusal' in fourth);
    assert.match(fourth.refusal.message, /3 admission requests in flight \(limit 3\)/);
  });
});

describe('making room', () => {
  test('when there is no room, bodies still arriving after yieldAfterMs are cut for the newcomer, slowest first', () => {
    const { admit, advance } = gate({ maxInflight: 3 });
    const slow = ticketOf(admit(1_000));
    const slower = ticketOf(admit(1_000));
    const done = ticketOf(admit(1_000));
    slow.received += 10;
    done.received += 1_000;
    done.complete = true;
    advance(99);
    assert.ok('refusal' in admit(1_000), 'not before yieldAfterMs');
    advance(1);
    const r = admit(1_000);
    ticketOf(r);
    assert.deepEqual(
      r.cuts.map((c) => c.ticket),
      [slower],
      'the one with the lowest rate (nothing received)',
    );
    assert.match(r.cuts[0]!.message, /body incomplete after 100ms \(0 of 1000 bytes\) while the server needed room/);
    assert.ok(slower.released);
    const again = admit(1_000);
    assert.deepEqual('ticket' in again && again.cuts.map((c) => c.ticket), [slow]);
    assert.ok('refusal' in admit(1_000), 'a complete body is never cut: it is being decided');
  });

  test('a refusal says when cutting bodies still arriving would make room: when the oldest of them reaches yieldAfterMs', () => {
    const { g, admit, advance } = gate({ maxInflight: 3 });
    ticketOf(admit(1_000));
    advance(20);
    ticketOf(admit(1_000));
    advance(20);
    ticketOf(admit(1_000));
    advance(10);
    const r = admit(1_000);
    assert.ok('refusal' in r);
    assert.equal(r.refusal.roomAt, 100);
    assert.equal(g.inflight, 3, 'nothing cut yet');
  });

  test('no roomAt when cutting every body still arriving would not make room', () => {
    const { admit } = gate({ maxInflight: 2 });
    for (const t of [ticketOf(admit(1_000)), ticketOf(admit(1_000))]) {
      t.received += 1_000;
      t.complete = true;
    }
    const refused = admit(1_000);
    assert.ok('refusal' in refused);
    assert.equal(refused.refusal.roomAt, undefined, 'bodies being decided are never cut');
  });

  test('when the byte budget needs several bodies cut, roomAt is when the last of the oldest ones needed may be', () => {
    const { admit, advance } = gate({ maxBodyBytes: 3 * MiB, maxLargeBodyBytes: 3 * MiB });
    ticketOf(admit(MiB));
    advance(30);
    ticketOf(admit(MiB));
    advance(30);
    ticketOf(admit(MiB));
    const r = admit(2 * MiB);
    assert.ok('refusal' in r);
    assert.equal(r.refusal.roomAt, 130);
  });

  test('a request admitted after waiting has its body deadline counted from its head', () => {
    const { g, advance } = gate();
    advance(1_000);
    const t = ticketOf(g.admit({ declared: 1_000, undeclaredBytes: 7 * MiB, deadlineMs: 10_000, headAt: 900 }));
    assert.equal(t.arrivedAt, 1_000);
    assert.equal(t.bodyDeadline, 900 + 10_000 * 0.5);
  });

  test('large bodies make room only as far as needed', () => {
    const { admit, advance } = gate();
    ticketOf(admit(3 * MiB));
    ticketOf(admit(3 * MiB));
    advance(1_000);
    const r = admit(4 * MiB);
    ticketOf(r);
    assert.equal(r.cuts.length, 1);
  });
});

describe('holder: what the caller keeps with a ticket', () => {
  test('a cut, by room or by sweep, carries the ticket with the holder it was admitted with', () => {
    let clock = 0;
    const g = new AdmissionGate<{ name: string }>({ ...LIMITS, maxInflight: 2 }, () => clock);
    const first = g.admit({ declared: 1_000, undeclaredBytes: 7 * MiB, deadlineMs: 10_000, holder: { name: 'a' } });
    const second = g.admit({ declared: 1_000, undeclaredBytes: 7 * MiB, deadlineMs: 400, holder: { name: 'b' } });
    assert.ok('ticket' in first && 'ticket' in second);
    assert.equal(first.ticket.holder?.name, 'a');
    clock += 100;
    const third = g.admit({ declared: 1_000, undeclaredBytes: 7 * MiB, deadlineMs: 10_000, holder: { name: 'c' } });
    assert.ok('ticket' in third);
    assert.deepEqual(
      third.cuts.map((c) => c.ticket.holder?.name),
      ['a'],
      'cut for room: the oldest of equal rates',
    );
    clock += 400;
    assert.deepEqual(
      g.sweep().map((c) => c.ticket.holder?.name),
      ['b'],
      'cut by the sweep: past its share of a 400 ms deadline',
    );
  });

  test('a ticket admitted without one has none', () => {
    const { admit } = gate();
    assert.equal(ticketOf(admit(1_000)).holder, undefined);
  });
});

describe('sweep: a body must arrive within its share of the deadline', () => {
  test('one trickling in is cut once judged (after the grace period), a fast one is not', () => {
    const { g, admit, advance } = gate();
    const trickle = ticketOf(admit(1_000, 10_000));
    const fast = ticketOf(admit(1_000_000, 10_000));
    advance(499);
    trickle.received += 1;
    fast.received += 200_000;
    assert.deepEqual(g.sweep(), [], 'not judged during the grace period');
    advance(1);
    const cuts = g.sweep();
    assert.deepEqual(
      cuts.map((c) => c.ticket),
      [trickle],
    );
    assert.match(
      cuts[0]!.message,
      /body arriving at 2 B\/s \(1 of 1000 bytes in 500ms\) cannot arrive within its share \(5000ms\) of the caller's deadline/,
    );
    assert.ok(trickle.released && !fast.released);
    assert.equal(g.inflight, 1);
  });

  test('every hopeless body is cut in one sweep, neighbours in arrival order included', () => {
    const { g, admit, advance } = gate();
    const tickets = [0, 1, 2].map(() => ticketOf(admit(1_000, 10_000)));
    advance(500);
    for (const t of tickets) t.received += 1;
    assert.deepEqual(
      g.sweep().map((c) => c.ticket),
      tickets,
    );
    assert.equal(g.inflight, 0);
  });

  test('a body whose projected end falls after its share of the deadline is cut, however fast it started', () => {
    const { g, admit, advance } = gate();
    const t = ticketOf(admit(7 * MiB, 2_000));
    advance(600);
    t.received += 3 * MiB; // 7 MiB at this rate takes 1.4 s; its share is 1 s
    assert.deepEqual(
      g.sweep().map((c) => c.ticket),
      [t],
    );
  });

  test('an undeclared body is cut at its deadline share, not before', () => {
    const { g, admit, advance } = gate();
    const t = ticketOf(admit(undefined, 4_000));
    advance(1_999);
    assert.deepEqual(g.sweep(), []);
    advance(1);
    const cuts = g.sweep();
    assert.deepEqual(
      cuts.map((c) => c.ticket),
      [t],
    );
    assert.match(cuts[0]!.message, /body incomplete after 2000ms, its share \(2000ms\) of the caller's deadline/);
  });

  test('a complete body is never cut, and a sweep told the process was not reading judges nothing', () => {
    const { g, admit, advance } = gate();
    const complete = ticketOf(admit(1_000));
    complete.received += 1_000;
    complete.complete = true;
    const stalled = ticketOf(admit(1_000));
    advance(60_000);
    assert.deepEqual(g.sweep(false), []);
    assert.deepEqual(
      g.sweep().map((c) => c.ticket),
      [stalled],
    );
  });
});
