// Load generators, run in the parent while the server lives in a child.
// Throughput: autocannon, closed loop, keep-alive. Fixed rate: a paced
// open-loop client on undici, because autocannon's `overallRate` sends each
// second's quota back to back and then idles, which measures bursts.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { summarize, type Summary } from './stats.js';

export interface Target {
  origin: string;
  path: string;
  body: string;
  ca: string;
}

/**
 * CPU seconds (user + system, every thread) a process has used, from
 * /proc/PID/stat; undefined where there is no /proc. Unlike wall-clock rates,
 * CPU per request barely moves when other work shares the machine.
 */
export function cpuSeconds(pid: number): number | undefined {
  const times = cpuTimes(pid);
  return times && times.user + times.system;
}

/** The same, user and system time apart: system time is the kernel's (sockets, wake-ups), user time the process's own. */
export function cpuTimes(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", utime and stime are the 12th and 13th fields, in clock ticks (USER_HZ, 100 on Linux).
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  } catch {
    return undefined;
  }
}

export interface Throughput {
  /** Server CPU per answered request, when the server's pid was given and /proc exists. */
  serverCpuUsPerRequest?: number;
  /** The system (kernel) part of it. */
  serverSysUsPerRequest?: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

export async function throughput(
  target: Target,
  opts: { connections: number; seconds: number; serverPid?: number },
): Promise<Throughput> {
  const cpuBefore = opts.serverPid === undefined ? undefined : cpuTimes(opts.serverPid);
  const result = await autocannon({
    url: `${target.origin}${target.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: target.body,
    connections: opts.connections,
    pipelining: 1,
    duration: opts.seconds,
  });
  const cpuAfter = opts.serverPid === undefined ? undefined : cpuTimes(opts.serverPid);
  const perRequest = (seconds: number) => (seconds * 1e6) / result.requests.total;
  const measured = cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0;
  return {
    ...(measured && {
      serverCpuUsPerRequest: perRequest(cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system),
      serverSysUsPerRequest: perRequest(cpuAfter.system - cpuBefore.system),
    }),
    rps: result.requests.total / opts.seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export interface FixedRate {
  rate: number;
  seconds: number;
  achievedRps: number;
  /** Milliseconds from handing the request to the client until the whole response arrived. */
  latency: Summary;
  /** Milliseconds from the request's scheduled time: adds the client's own lateness, hides no stall (coordinated omission). */
  latencyFromSchedule: Summary;
  failed: number;
}

/**
 * Sends `rate` requests per second for `seconds`, each at its scheduled time
 * whether or not earlier ones have been answered.
 */
export async function fixedRate(
  target: Target,
  opts: { rate: number; seconds: number; connections: number },
): Promise<FixedRate> {
  const pool = new Pool(target.origin, { connections: opts.connections, pipelining: 1, connect: { ca: target.ca } });
  const total = Math.round(opts.rate * opts.seconds);
  const intervalMs = 1000 / opts.rate;
  const latency = new Float64Array(total);
  const fromSchedule = new Float64Array(total);
  let failed = 0;
  let finished = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    const fire = (i: number) => {
      const sentAt = performance.now();
      pool
        .request({
          path: target.path,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: target.body,
        })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) failed++;
        })
        .catch(() => void failed++)
        .finally(() => {
          const now = performance.now();
          latency[i] = now - sentAt;
          fromSchedule[i] = now - (start + i * intervalMs);
          if (++finished === total) resolve();
        });
    };
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    tick();
  });
  const elapsedS = (performance.now() - start) / 1000;
  await pool.close();
  return {
    rate: opts.rate,
    seconds: opts.seconds,
    achievedRps: total / elapsedS,
    latency: summarize(latency),
    latencyFromSchedule: summarize(fromSchedule),
    failed,
  };
}

/** One request with certificate verification, to check the server answers what the benchmark assumes. */
export async function probe(target: Target): Promise<{ status: number; body: unknown }> {
  const pool = new Pool(target.origin, { connections: 1, connect: { ca: target.ca } });
  try {
    const res = await pool.request({
      path: target.path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: target.body,
    });
    return { status: res.statusCode, body: await res.body.json() };
  } finally {
    await pool.close();
  }
}
