// How close a served certificate is to its end, for certificates nobody in
// this process renews (--cert-dir: cert-manager, `sidecar-guard certs`, a
// standalone pair). The expiry metric shows it to whoever alerts on it; the
// log says it to whoever reads the log, once per certificate and state.

const DAY_MS = 24 * 3600 * 1000;

/** Never warn earlier than this before notAfter: a week is enough to renew by hand, and it is quiet before. */
export const EXPIRY_WARNING_CAP_MS = 7 * DAY_MS;

export type ExpiryState = 'valid' | 'expiring' | 'expired';

/**
 * How long before notAfter the warning starts: the later of 7 days before
 * and 1/10 of the lifetime before. A renewer on cert-manager's default
 * schedule (2/3 of the life, i.e. 1/3 before the end) has long acted by the
 * time 1/10 is left, so a warning means renewal failed, not that it is due;
 * the tenth keeps short-lived certificates (a 24 h one renewed every 16 h)
 * from warning for their whole life, and the 7-day cap keeps a year-long
 * one from warning for five weeks.
 */
export function expiryWarningWindowMs(notBefore: Date, notAfter: Date): number {
  const lifetime = Math.max(0, notAfter.getTime() - notBefore.getTime());
  return Math.min(EXPIRY_WARNING_CAP_MS, Math.floor(lifetime / 10));
}

export function expiryState(notBefore: Date, notAfter: Date, now: Date): ExpiryState {
  if (hasExpired(notAfter, now)) return 'expired';
  return notAfter.getTime() - now.getTime() <= expiryWarningWindowMs(notBefore, notAfter) ? 'expiring' : 'valid';
}

/** The one comparison that says a certificate is past its end (readiness and the expiry warnings both use it). */
export const hasExpired = (notAfter: Date, now: Date): boolean => notAfter.getTime() <= now.getTime();

/** "3 days", "5 hours", "12 minutes": how far away notAfter is, for a log line. */
export function describeTimeLeft(ms: number): string {
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? '' : 's'}`;
  if (ms >= 2 * DAY_MS) return unit(Math.floor(ms / DAY_MS), 'day');
  if (ms >= 2 * 3600 * 1000) return unit(Math.floor(ms / (3600 * 1000)), 'hour');
  return unit(Math.max(0, Math.floor(ms / 60_000)), 'minute');
}
