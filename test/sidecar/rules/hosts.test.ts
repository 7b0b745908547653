// H1–H6 (egress host errors) and W1–W3 (duplicate/overlap warnings).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { egressHosts, expectFindings, expectValid, findings, type Finding } from './helpers.js';

const H = (j: number) => `spec.egress[0].hosts[${j}]`;
const twice = (f: Finding): Finding[] => [f, f];

describe('valid hosts', () => {
  it('accepts the documented forms', () => {
    for (const host of [
      '*/*',
      './*',
      './foo.com',
      'ns1/*.foo.com',
      'NS1/Foo.com',
      'ns1/foo.com.',
      'istio-system/*',
      '*/a-1.b',
    ]) {
      expectValid(egressHosts(host));
    }
  });

  it('accepts exclusions with ~ (one leading ~ stripped before the namespace check)', () => {
    expectValid(egressHosts('~/x.com'));
    expectValid(egressHosts('~./*'));
    expectValid(egressHosts('~*/*'));
    expectValid(egressHosts('~ns1/*'));
  });
});

describe('H1 namespace/dnsName form', () => {
  it('reports a host without slash and nothing else for it', () => {
    expectFindings(egressHosts('*'), [['H1', H(0), 'host must be of form namespace/dnsName']]);
    expectFindings(egressHosts('not_a_host!'), [['H1', H(0), 'host must be of form namespace/dnsName']]);
  });

  it('a null host is an empty string', () => {
    expectFindings(egressHosts(null), [['H1', H(0), 'host must be of form namespace/dnsName']]);
  });
});

describe('H2 empty parts', () => {
  it('reports an empty namespace and goes on', () => {
    expectFindings(egressHosts('/foo.com'), [
      ['H2', H(0), 'config namespace and dnsName in host entry cannot be empty'],
    ]);
  });

  it('reports an empty dnsName together with H4 and H5 twice', () => {
    expectFindings(egressHosts('/'), [
      ['H2', H(0), 'config namespace and dnsName in host entry cannot be empty'],
      ['H4', H(0), 'short names (non FQDN) are not allowed'],
      ...twice(['H5', H(0), 'empty domain name not allowed']),
    ]);
  });
});

describe('H3 namespace', () => {
  it('quotes the namespace as written, ~ included', () => {
    expectFindings(egressHosts('ns_1/foo.com'), [['H3', H(0), 'invalid namespace value "ns_1" in sidecar']]);
    expectFindings(egressHosts('~~ns/*'), [['H3', H(0), 'invalid namespace value "~~ns" in sidecar']]);
    expectFindings(egressHosts('~ns.x/*'), [['H3', H(0), 'invalid namespace value "~ns.x" in sidecar']]);
  });

  it('rejects labels longer than 63 characters', () => {
    const ns = 'n'.repeat(64);
    expectFindings(egressHosts(`${ns}/*`), [['H3', H(0), `invalid namespace value "${ns}" in sidecar`]]);
  });

  it('keeps the dnsName checks after it', () => {
    expectFindings(egressHosts('a b/x'), [
      ['H3', H(0), 'invalid namespace value "a b" in sidecar'],
      ['H4', H(0), 'short names (non FQDN) are not allowed'],
    ]);
  });
});

describe('H4 short names', () => {
  it('rejects a dnsName without a dot unless it is *', () => {
    expectFindings(egressHosts('ns1/foo'), [['H4', H(0), 'short names (non FQDN) are not allowed']]);
  });
});

describe('H5 domain name (reported twice unless an IP literal)', () => {
  it('quotes the part after the first dot for label and TLD errors', () => {
    expectFindings(
      egressHosts('ns1/a.b.123'),
      twice(['H5', H(0), 'domain name "b.123" invalid (top level domain "123" cannot be all-numeric)']),
    );
    expectFindings(egressHosts('ns1/foo..com'), twice(['H5', H(0), 'domain name ".com" invalid (label "" invalid)']));
  });

  it('quotes the whole name for a bad first label', () => {
    expectFindings(
      egressHosts('ns1/foo_bar.com'),
      twice(['H5', H(0), 'domain name "foo_bar.com" invalid (label "foo_bar" invalid)']),
    );
  });

  it('reports a name over 255 bytes', () => {
    const dns = `${`${'a'.repeat(60)}.`.repeat(4)}${'b'.repeat(20)}.com`;
    expectFindings(egressHosts(`ns1/${dns}`), twice(['H5', H(0), `domain name "${dns}" too long (max 255)`]));
  });

  it('counts UTF-8 bytes for the length', () => {
    const dns = `${'é'.repeat(127)}.com`; // 258 bytes, 131 characters
    const got = findings(egressHosts(`ns1/${dns}`));
    assert.deepEqual(got, twice(['H5', H(0), `domain name "${dns}" too long (max 255)`]));
  });

  it('allows 255 bytes and not 256, however few characters they take', () => {
    const wide = '中'.repeat(84); // 252 bytes
    const at = `ab.${wide}`; // 255 bytes: the label is what is wrong
    expectFindings(
      egressHosts(`ns1/${at}`),
      twice(['H5', H(0), `domain name "${wide}" invalid (label "${wide}" invalid)`]),
    );
    const over = `abc.${wide}`; // 256 bytes in 88 characters
    expectFindings(egressHosts(`ns1/${over}`), twice(['H5', H(0), `domain name "${over}" too long (max 255)`]));
    const fullWidth = '中'.repeat(85); // 255 bytes in 85 characters
    expectFindings(egressHosts(`ns1/${fullWidth}`), [
      ['H4', H(0), 'short names (non FQDN) are not allowed'],
      ...twice(['H5', H(0), `domain name "${fullWidth}" invalid (label "${fullWidth}" invalid)`]),
    ]);
    const ascii = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`; // 253 bytes
    expectValid(egressHosts(`ns1/${ascii}`));
    expectFindings(egressHosts(`ns1/${ascii}xyz`), twice(['H5', H(0), `domain name "${ascii}xyz" too long (max 255)`]));
  });

  it('treats TLDs Go can parse as integers as numeric ("+1", "-1") and huge ones not', () => {
    expectFindings(
      egressHosts('ns1/foo.-1'),
      twice(['H5', H(0), 'domain name "-1" invalid (top level domain "-1" cannot be all-numeric)']),
    );
    expectValid(egressHosts('ns1/foo.99999999999999999999'));
  });

  it('counts "+1", "-0" and "00" as numeric, but not hex, non-ASCII digits or the first labels', () => {
    for (const tld of ['+1', '-0', '00']) {
      expectFindings(
        egressHosts(`ns1/foo.${tld}`),
        twice(['H5', H(0), `domain name "${tld}" invalid (top level domain "${tld}" cannot be all-numeric)`]),
      );
    }
    expectValid(egressHosts('ns1/foo.0x1'));
    expectValid(egressHosts('ns1/9223372036854775808.foo.9223372036854775808'));
    expectFindings(egressHosts('ns1/foo.١٢'), twice(['H5', H(0), 'domain name "١٢" invalid (label "١٢" invalid)']));
    expectFindings(
      egressHosts('~ns1/foo.123'),
      twice(['H5', H(0), 'domain name "123" invalid (top level domain "123" cannot be all-numeric)']),
    );
  });

  it('allows one trailing dot, not two', () => {
    expectValid(egressHosts('ns1/foo.bar.', '*/*.', 'ns2/a.b.c.d.e.f.'));
    expectFindings(egressHosts('ns1/foo..'), twice(['H5', H(0), 'domain name "." invalid (label "" invalid)']));
  });

  it('reports once for IP literals', () => {
    expectFindings(egressHosts('ns1/1.2.3.4'), [
      ['H5', H(0), 'domain name "2.3.4" invalid (top level domain "4" cannot be all-numeric)'],
    ]);
    expectFindings(egressHosts('ns1/::1'), [
      ['H4', H(0), 'short names (non FQDN) are not allowed'],
      ['H5', H(0), 'domain name "::1" invalid (label "::1" invalid)'],
    ]);
  });
});

describe('H6 partial wildcards', () => {
  it('rejects wildcards other than * or a leading *.', () => {
    expectFindings(egressHosts('ns1/*foo.com'), [['H6', H(0), 'partial wildcard "*foo.com" not allowed']]);
    expectFindings(egressHosts('ns1/*-foo.com'), [['H6', H(0), 'partial wildcard "*-foo.com" not allowed']]);
  });

  it('follows the H5 findings when the wildcard is also a bad label', () => {
    expectFindings(egressHosts('ns1/foo.*.com'), [
      ...twice(['H5', H(0), 'domain name "*.com" invalid (label "*" invalid)']),
      ['H6', H(0), 'partial wildcard "foo.*.com" not allowed'],
    ]);
    expectFindings(egressHosts('ns1/**.com'), [
      ...twice(['H5', H(0), 'domain name "**.com" invalid (label "**" invalid)']),
      ['H6', H(0), 'partial wildcard "**.com" not allowed'],
    ]);
    expectFindings(egressHosts('ns1/*é.com'), [
      ...twice(['H5', H(0), 'domain name "*é.com" invalid (label "*é" invalid)']),
      ['H6', H(0), 'partial wildcard "*é.com" not allowed'],
    ]);
  });
});

describe('W1/W2 duplicated egress hosts', () => {
  it('W1 a host already covered by ns/*', () => {
    expectFindings(egressHosts('test/*', 'test/a.com'), [['W1', H(1), 'duplicated egress host: test/a.com']]);
  });

  it('W1 an exact duplicate, with . meaning the object namespace', () => {
    expectFindings(egressHosts('bar/a.com', './a.com'), [['W1', H(1), 'duplicated egress host: ./a.com']]);
    expectValid(egressHosts('bar/a.com', './a.com'), { namespace: 'other', name: 'foo' });
  });

  it('W2 ns/* after other hosts of that namespace, or twice', () => {
    expectFindings(egressHosts('ns1/a.com', 'ns1/*'), [['W2', H(1), 'duplicated egress host: ns1/*']]);
    expectFindings(egressHosts('ns1/*', 'ns1/*'), [['W2', H(1), 'duplicated egress host: ns1/*']]);
  });

  it('is reported before the host errors of the same host', () => {
    expectFindings(egressHosts('ns1/foo', 'ns1/foo'), [
      ['H4', H(0), 'short names (non FQDN) are not allowed'],
      ['W1', H(1), 'duplicated egress host: ns1/foo'],
      ['H4', H(1), 'short names (non FQDN) are not allowed'],
    ]);
  });

  it('ignores exclusions and hosts without slash', () => {
    expectValid(egressHosts('~ns1/a.com', '~ns1/a.com'));
    const got = findings(egressHosts('a.com', 'a.com'));
    assert.ok(got.every((f) => f[0] === 'H1'));
  });

  it('does not compare hosts across listeners', () => {
    expectValid({ egress: [{ port: { number: 80 }, hosts: ['ns1/*'] }, { hosts: ['ns1/*'] }] });
  });
});

describe('W3 */* with other hosts', () => {
  const W3: Finding = ['W3', 'spec.egress[0].hosts', '`*/*` host select all resources, no other hosts can be added'];

  it('warns once per listener when another namespace is listed', () => {
    expectFindings(egressHosts('*/*', 'ns1/a.com', 'ns2/*'), [W3]);
    expectFindings(egressHosts('ns1/a.com', '*/*'), [W3]);
  });

  it('gives W1 instead when the other host is also in *', () => {
    expectFindings(egressHosts('*/*', '*/a.com'), [['W1', H(1), 'duplicated egress host: */a.com']]);
  });

  it('ignores exclusions', () => {
    expectValid(egressHosts('*/*', '~ns1/*'));
  });
});

describe('W1–W3 on short and long host lists', () => {
  // Up to 16 hosts each host is compared with the earlier ones, longer lists
  // use maps. Exclusions are not tracked and are valid, so appending 17 of
  // them moves a list to the maps without changing what it should report.
  const exclusions = Array.from({ length: 17 }, (_, i) => `~pad/h${i}.com`);
  const host = fc.constantFrom(
    ...['*/*', './*', './a.com', 'ns1/a.com', 'ns1/*', '*/a.com', 'bar/a.com', 'bar/*', 'ns2/b.com', '~ns1/a.com'],
    ...['a.com', '/a.com', 'ns1/', './', '*/*.com', 'ns1/a.com/'],
  );

  it('finds the same duplicates either way', () => {
    fc.assert(
      fc.property(fc.array(host, { maxLength: 12 }), fc.constantFrom('bar', '*', ''), (hosts, namespace) => {
        const meta = { namespace, name: 'foo' };
        const warnings = (list: string[]) => findings(egressHosts(...list), meta).filter((f) => f[0].startsWith('W'));
        assert.deepEqual(warnings([...hosts, ...exclusions]), warnings(hosts));
      }),
      { numRuns: 500 },
    );
  });

  it('finds the same duplicates in few hosts of many characters', () => {
    const long = `${'x'.repeat(4096)}.com`;
    const hosts = [`ns1/${long}`, `./${long}`, `bar/${long}`, 'ns1/*', '*/*'];
    expectFindings(egressHosts(...hosts), [
      ...twice(['H5', H(0), `domain name "${long}" too long (max 255)`]),
      ...twice(['H5', H(1), `domain name "${long}" too long (max 255)`]),
      ['W1', H(2), `duplicated egress host: bar/${long}`],
      ...twice(['H5', H(2), `domain name "${long}" too long (max 255)`]),
      ['W2', H(3), 'duplicated egress host: ns1/*'],
      ['W3', 'spec.egress[0].hosts', '`*/*` host select all resources, no other hosts can be added'],
    ]);
  });

  it('reports W1, W2 and W3 in a long list', () => {
    const hosts = [...exclusions, 'ns1/a.com', './a.com', 'bar/a.com', 'ns1/*', '*/*'];
    expectFindings(egressHosts(...hosts), [
      ['W1', H(19), 'duplicated egress host: bar/a.com'],
      ['W2', H(20), 'duplicated egress host: ns1/*'],
      ['W3', 'spec.egress[0].hosts', '`*/*` host select all resources, no other hosts can be added'],
    ]);
  });
});
