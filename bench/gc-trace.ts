// V8's own account of each garbage collection in a child, from the lines
// `--trace-gc-nvp` prints on its stdout (one name=value line per GC; the
// parent reads them through ChildOptions.onLine). For a scavenge, `promoted`
// is the bytes it moved from the young generation to the old one: objects
// that outlived two scavenges, or that an old object kept alive. A request
// handler whose garbage dies young promotes little; one whose per-request
// objects are allocated in old space (a pretenured allocation site) keeps
// every young object they point to alive, and promotes hundreds of KB.
import { median } from './stats.js';

// --expose-gc lets the runner make the server collect its whole heap under load (fullGcDuringWarmUp).
export const GC_TRACE_FLAGS: readonly string[] = ['--trace-gc-nvp', '--expose-gc'];

/** The signal on which bench/server.ts runs a full GC (gc()); SIGWINCH does nothing else to a process without a terminal. */
export const FULL_GC_SIGNAL = 'SIGWINCH';

/**
 * Runs `warmUp` (a load) and has the server collect its whole heap halfway
 * through it. A server that has run for a while under load has been through
 * mark-compacts, which move whatever is live at that moment (the requests in
 * flight, the tables holding them) to old space; what it promotes per
 * scavenge afterwards is its steady state. Before any, it can promote far
 * less: in issue 20 the stub decision promoted 23 KB per scavenge from a
 * fresh start and 100 KB once a mark-compact had run under load (a Set of
 * in-flight tickets whose table had moved to old space). Without this the
 * figure depended on whether V8 happened to run one.
 */
export async function fullGcDuringWarmUp<T>(
  server: { kill(signal: NodeJS.Signals): boolean },
  warmUpMs: number,
  warmUp: () => Promise<T>,
): Promise<T> {
  const timer = setTimeout(() => server.kill(FULL_GC_SIGNAL), warmUpMs / 2);
  try {
    return await warmUp();
  } finally {
    clearTimeout(timer);
  }
}

export interface GcEvent {
  /** Arrival time in the parent (performance.now()), to cut events into measurement windows. */
  at: number;
  /** s (scavenge), ms (mark-compact), mmc (minor mark-compact), ... as V8 prints it. */
  kind: string;
  pauseMs: number;
  promotedBytes: number;
}

const FIELD = /(?:^|\s)(pause|gc|promoted)=(\S+)/g;

/** One --trace-gc-nvp line, or undefined for any other line. */
export function parseGcLine(line: string, at: number): GcEvent | undefined {
  if (!line.includes(' gc=')) return undefined;
  const fields: Record<string, string> = {};
  for (const m of line.matchAll(FIELD)) fields[m[1]!] = m[2]!;
  if (fields.gc === undefined || fields.pause === undefined) return undefined;
  return { at, kind: fields.gc, pauseMs: Number(fields.pause), promotedBytes: Number(fields.promoted ?? 0) };
}

export interface GcSummary {
  scavenges: number;
  /** Mean bytes promoted per scavenge, in KB. */
  promotedKbPerScavenge: number;
  scavengePauseMsMean: number;
  markCompacts: number;
}

export function summarizeGc(events: readonly GcEvent[]): GcSummary {
  const scavenges = events.filter((e) => e.kind === 's');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    scavenges: scavenges.length,
    promotedKbPerScavenge: scavenges.length
      ? sum(scavenges.map((e) => e.promotedBytes)) / scavenges.length / 1024
      : NaN,
    scavengePauseMsMean: scavenges.length ? sum(scavenges.map((e) => e.pauseMs)) / scavenges.length : NaN,
    markCompacts: events.filter((e) => e.kind === 'ms' || e.kind === 'mc').length,
  };
}

/** Collects a child's GC events; window() gives those that arrived between two times. */
export class GcLog {
  readonly events: GcEvent[] = [];
  readonly onLine = (line: string): void => {
    const e = parseGcLine(line, performance.now());
    if (e) this.events.push(e);
    else process.stderr.write(`${line}\n`);
  };
  window(from: number, to: number): GcEvent[] {
    return this.events.filter((e) => e.at >= from && e.at <= to);
  }
}

export const medianOf = (xs: number[]): number => median(xs.filter(Number.isFinite));
