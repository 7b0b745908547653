// A cap on a listener's open connections (the admission listener's
// --max-connections, the metrics listener's fixed cap). Every other limit
// applies once a request has arrived; an idle TLS connection costs memory
// (85–95 KB of RSS each in bench/attack.ts's connection flood) until the
// handshake or head deadline closes it, so without a cap one client opening
// connections in a loop grows the process without bound. Node enforces the
// cap at accept time (server.maxConnections): a connection beyond it is
// closed before its TLS handshake, costs nothing, and is reported by the
// server's 'drop' event, which is counted here and logged at most once per
// interval with how many were dropped since the last line.
import type { Server } from 'node:net';
import type { Logger } from 'pino';

export interface ConnectionCapOptions {
  max: number;
  /** Which listener and limit the warning names, e.g. 'admission port at --max-connections'. */
  what: string;
  onDrop?: () => void;
  logger?: Logger;
  /** At most one warning per this many milliseconds of the clock below. */
  logEveryMs: number;
  now: () => number;
}

export function capConnections(server: Server, opts: ConnectionCapOptions): void {
  server.maxConnections = opts.max;
  let sinceLine = 0;
  let lastLineAt = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    opts.onDrop?.();
    sinceLine++;
    const now = opts.now();
    if (now - lastLineAt < opts.logEveryMs) return;
    opts.logger?.warn(
      { maxConnections: opts.max, dropped: sinceLine, sinceMs: Number.isFinite(lastLineAt) ? now - lastLineAt : 0 },
      `${opts.what} (${opts.max}): new connections are closed unanswered`,
    );
    lastLineAt = now;
    sinceLine = 0;
  });
}
