// isIPAddress must accept exactly what Go's netip.ParseAddr accepts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIPAddress } from '../../../src/sidecar/go/netip.js';

describe('isIPAddress (Go netip.ParseAddr)', () => {
  it('accepts dotted-quad IPv4 without leading zeros', () => {
    for (const s of ['0.0.0.0', '1.2.3.4', '127.0.0.1', '255.255.255.255', '10.0.0.0']) assert.ok(isIPAddress(s), s);
  });

  it('rejects malformed IPv4', () => {
    for (const s of [
      '010.0.0.1',
      '1.2.3.04',
      '00.0.0.0',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      '1.2.3.4 ',
      '1.2.3.-4',
      '1.2.3.4%eth0',
      '1.2.3.4:80',
    ]) {
      assert.ok(!isIPAddress(s), s);
    }
  });

  it('accepts every IPv6 form', () => {
    for (const s of [
      '::',
      '::1',
      '1::',
      '2001:db8::1',
      '2001:DB8:0:0:0:0:0:1',
      '1:2:3:4:5:6:7:8',
      '0001:0002::ffff',
      '::ffff:1.2.3.4',
      '::1.2.3.4',
      '1:2:3:4:5:6:1.2.3.4',
      '1::5:6:1.2.3.4',
      'fe80::1%eth0',
      '::%1',
      'fe80::1%a%b',
    ]) {
      assert.ok(isIPAddress(s), s);
    }
  });

  it('rejects malformed IPv6', () => {
    for (const s of [
      ':',
      ':::',
      '1:2',
      '::1::2',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8::',
      '12345::',
      'g::1',
      '1:',
      ':1',
      'fe80::1%',
      '::ffff:01.2.3.4',
      '::ffff:1.2.3',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5:1.2.3.4',
      '::ffff:1.2.3.4:5',
      '::1/128',
      '[::1]',
    ]) {
      assert.ok(!isIPAddress(s), s);
    }
  });

  it('rejects names, CIDR, zones without address and the empty string', () => {
    for (const s of ['', 'localhost', 'foo.bar', '10.0.0.0/8', '%eth0', 'a', '1']) assert.ok(!isIPAddress(s), s);
  });
});
