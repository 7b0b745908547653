// splitHostPort must accept what Go's net.SplitHostPort accepts and fail with its texts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitHostPort } from '../../../src/sidecar/go/net.js';

const ok = (input: string, host: string, port: string) =>
  assert.deepEqual(splitHostPort(input), { ok: true, host, port }, input);
const fails = (input: string, error: string) => assert.deepEqual(splitHostPort(input), { ok: false, error }, input);

describe('splitHostPort (Go net.SplitHostPort)', () => {
  it('splits host:port at the last colon', () => {
    ok('127.0.0.1:8080', '127.0.0.1', '8080');
    ok('localhost:http', 'localhost', 'http');
    ok(':80', '', '80');
    ok('host:', 'host', '');
    ok(':', '', '');
  });

  it('strips brackets, keeping zones and IPv4 inside', () => {
    ok('[::1]:8080', '::1', '8080');
    ok('[fe80::1%eth0]:80', 'fe80::1%eth0', '80');
    ok('[127.0.0.1]:8080', '127.0.0.1', '8080');
    ok('[]:80', '', '80');
  });

  it('missing port', () => {
    fails('127.0.0.1', 'address 127.0.0.1: missing port in address');
    fails('[::1]', 'address [::1]: missing port in address');
    fails('[::1]x:80', 'address [::1]x:80: missing port in address');
    fails('[a]]:80', 'address [a]]:80: missing port in address');
  });

  it('too many colons', () => {
    fails('::1:8080', 'address ::1:8080: too many colons in address');
    fails('a:b:c', 'address a:b:c: too many colons in address');
    fails('[::1]:80:90', 'address [::1]:80:90: too many colons in address');
  });

  it('brackets out of place', () => {
    fails('[::1:8080', "address [::1:8080: missing ']' in address");
    fails('a[b:80', "address a[b:80: unexpected '[' in address");
    fails('[[a]:80', "address [[a]:80: unexpected '[' in address");
    fails('a]:80', "address a]:80: unexpected ']' in address");
    fails('[a]:8]0', "address [a]:8]0: unexpected ']' in address");
  });

  it('prints only the reason for an empty address', () => {
    fails('', 'missing port in address');
  });
});
