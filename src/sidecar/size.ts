// How much one decision will judge. etcd refuses a request larger than its
// --max-request-bytes (1.5 MiB by default), and kube-apiserver stores a
// custom resource as its JSON, so no Sidecar larger than that exists in a
// cluster with the default; kube-apiserver still forwards one (up to its
// 3 MiB body limit, and a dry run never reaches etcd). Judging such an
// object would cost seconds of CPU and hundreds of MB; it is refused up
// front, after counting no more than the limit.
import { isRecord } from '../util/json.js';

/** etcd's default --max-request-bytes: the largest object a cluster with the default can store. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

interface Frame {
  readonly items: readonly unknown[];
  next: number;
}

/**
 * Whether `value` written as JSON takes more than `limit` bytes, counting
 * from below: every string at its UTF-16 length (UTF-8 is never shorter),
 * every number as one digit, no whitespace. So `true` means that no encoder
 * can write it within the limit. Iterative, and stops once past the limit.
 */
export function jsonLongerThan(value: unknown, limit: number): boolean {
  let bytes = 0;
  const stack: Frame[] = [{ items: [value], next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.items.length) {
      stack.pop();
      continue;
    }
    const v = frame.items[frame.next++];
    bytes += scalarBytes(v);
    if (Array.isArray(v)) {
      bytes += 2 + Math.max(0, v.length - 1); // brackets and commas
      if (v.length > 0) stack.push({ items: v, next: 0 });
    } else if (isRecord(v)) {
      const keys = Object.keys(v);
      bytes += 2 + Math.max(0, keys.length - 1); // braces and commas
      const values: unknown[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        bytes += keys[i]!.length + 3; // "key":
        values[i] = v[keys[i]!];
      }
      if (values.length > 0) stack.push({ items: values, next: 0 });
    }
    if (bytes > limit) return true;
  }
  return false;
}

function scalarBytes(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return v.length + 2;
    case 'number':
      return 1;
    case 'boolean':
      return v ? 4 : 5;
    default:
      return v === null ? 4 : 0;
  }
}
