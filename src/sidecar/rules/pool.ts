// C1–C14 and D: Istio's validateConnectionPool, used for each
// ingress[].connectionPool (I22) and for inboundConnectionPool (P1).
import type { ConnectionPool, Duration, HttpPool, TcpPool } from './decode.js';
import { H2_UPGRADE_POLICY } from './decode.js';
import type { RuleId } from './catalog.js';
import type { Report } from './report.js';

const NS_PER_MS = 1_000_000n;

/** Rule D (ValidateDuration): at least 1ms, in whole milliseconds. */
export function durationError(nanos: bigint): string | undefined {
  if (nanos < NS_PER_MS) return 'duration must be greater than 1ms';
  if (nanos % NS_PER_MS !== 0n) return 'only durations to ms precision are supported';
  return undefined;
}

/** Applies rule D to a set duration and reports it under the field's C row. */
function checkDuration(rule: RuleId, nanos: Duration, path: string, report: Report): void {
  if (nanos === undefined) return;
  const error = durationError(nanos);
  if (error !== undefined) report.add(rule, path, error);
}

/** `path` is the pool itself, e.g. "spec.inboundConnectionPool". */
export function checkConnectionPool(pool: ConnectionPool, path: string, report: Report): void {
  if (!pool.http && !pool.tcp) {
    report.add('C1', path, 'connection pool must have at least one field');
    return;
  }
  if (pool.http) checkHttpPool(pool.http, `${path}.http`, report);
  if (pool.tcp) checkTcpPool(pool.tcp, `${path}.tcp`, report);
}

function checkHttpPool(http: HttpPool, path: string, report: Report): void {
  if (http.http1MaxPendingRequests < 0) {
    report.add('C2', `${path}.http1MaxPendingRequests`, 'http1 max pending requests must be non-negative');
  }
  if (http.http2MaxRequests < 0)
    report.add('C3', `${path}.http2MaxRequests`, 'http2 max requests must be non-negative');
  if (http.maxRequestsPerConnection < 0) {
    report.add('C4', `${path}.maxRequestsPerConnection`, 'max requests per connection must be non-negative');
  }
  if (http.maxRetries < 0) report.add('C5', `${path}.maxRetries`, 'max retries must be non-negative');
  checkDuration('C6', http.idleTimeout, `${path}.idleTimeout`, report);
  if (http.h2UpgradePolicy === H2_UPGRADE_POLICY.UPGRADE && http.useClientProtocol) {
    report.add(
      'C7',
      `${path}.useClientProtocol`,
      'use client protocol must not be true when H2UpgradePolicy is UPGRADE',
    );
  }
  if (http.maxConcurrentStreams < 0) {
    report.add('C8', `${path}.maxConcurrentStreams`, 'max concurrent streams must be non-negative');
  }
  const keepAlive = http.http2KeepAlive;
  if (keepAlive) {
    const base = `${path}.http2KeepAlive`;
    if (keepAlive.interval === undefined) report.add('C9', `${base}.interval`, 'http2 keepalive interval is required');
    else checkDuration('C9', keepAlive.interval, `${base}.interval`, report);
    if (keepAlive.timeout === undefined) report.add('C9', `${base}.timeout`, 'http2 keepalive timeout is required');
    else checkDuration('C9', keepAlive.timeout, `${base}.timeout`, report);
  }
}

function checkTcpPool(tcp: TcpPool, path: string, report: Report): void {
  if (tcp.maxConnections < 0) report.add('C10', `${path}.maxConnections`, 'max connections must be non-negative');
  checkDuration('C11', tcp.connectTimeout, `${path}.connectTimeout`, report);
  checkDuration('C12', tcp.maxConnectionDuration, `${path}.maxConnectionDuration`, report);
  // Istio skips idle timeouts whose whole-millisecond value is 0, so "0s"
  // can disable the timeout; that also lets anything under 1ms through.
  const idle = tcp.idleTimeout;
  if (idle !== undefined && idle / NS_PER_MS !== 0n) checkDuration('C13', idle, `${path}.idleTimeout`, report);
  const keepalive = tcp.tcpKeepalive;
  if (keepalive) {
    checkDuration('C14', keepalive.time, `${path}.tcpKeepalive.time`, report);
    checkDuration('C14', keepalive.interval, `${path}.tcpKeepalive.interval`, report);
  }
}
