// I2–I23: ingress listeners (TLS options and pools have their own files).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectFindings, expectValid, findings, httpPort, httpsPort, ingress, type Finding } from './helpers.js';

const P = 'spec.ingress[0]';
const EP = `${P}.defaultEndpoint`;
const endpoint = (defaultEndpoint: string) => ingress({ port: httpPort, defaultEndpoint });
const I11_MESSAGE =
  'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset';

describe('I2 ingress port required', () => {
  it('reports a listener without port', () => {
    expectFindings(ingress({ defaultEndpoint: '127.0.0.1:80' }), [
      ['I2', `${P}.port`, 'sidecar: port is required for ingress listeners'],
    ]);
  });

  it("skips the listener's other checks (endpoint, tls, pool)", () => {
    expectFindings(
      ingress({ bind: 'nope', defaultEndpoint: 'localhost', tls: { mode: 'ISTIO_MUTUAL' }, connectionPool: {} }),
      [['I2', `${P}.port`, 'sidecar: port is required for ingress listeners']],
    );
  });

  it('treats a null listener and a null port as missing; port {} is present', () => {
    expectFindings({ ingress: [null] }, [['I2', `${P}.port`, 'sidecar: port is required for ingress listeners']]);
    expectFindings(ingress({ port: null }), [['I2', `${P}.port`, 'sidecar: port is required for ingress listeners']]);
    expectFindings(ingress({ port: {} }), [['I6', `${P}.port.number`, 'port number 0 must be in the range 1..65535']]);
  });

  it('goes on with the next listener', () => {
    expectFindings({ ingress: [{}, { port: { ...httpPort, name: 'bad_name' } }] }, [
      ['I2', `${P}.port`, 'sidecar: port is required for ingress listeners'],
      ['I4', 'spec.ingress[1].port.name', 'invalid port name: bad_name'],
    ]);
  });
});

describe('I3–I7 port and bind', () => {
  it('I3 targetPort > 0 is an error', () => {
    expectFindings(ingress({ port: { ...httpPort, targetPort: 9090 } }), [
      ['I3', `${P}.port.targetPort`, 'targetPort has no impact on Sidecars'],
    ]);
    expectValid(ingress({ port: { ...httpPort, targetPort: 0 } }));
  });

  it('I4 port name must be a DNS-1123 label (uppercase allowed, empty allowed)', () => {
    expectFindings(ingress({ port: { ...httpPort, name: 'http_web' } }), [
      ['I4', `${P}.port.name`, 'invalid port name: http_web'],
    ]);
    expectFindings(ingress({ port: { ...httpPort, name: 'a'.repeat(64) } }), [
      ['I4', `${P}.port.name`, `invalid port name: ${'a'.repeat(64)}`],
    ]);
    expectValid(ingress({ port: { ...httpPort, name: 'HTTP-Web' } }));
    expectValid(ingress({ port: { number: 80, protocol: 'HTTP' } }));
  });

  it('I5 protocol must be known (case-insensitive), empty means sniffing', () => {
    expectFindings(ingress({ port: { ...httpPort, protocol: 'HBONE' } }), [
      ['I5', `${P}.port.protocol`, 'unsupported protocol: HBONE'],
    ]);
    expectFindings(ingress({ port: { ...httpPort, protocol: 'DoubleHBONE' } }), [
      ['I5', `${P}.port.protocol`, 'unsupported protocol: DoubleHBONE'],
    ]);
    for (const protocol of ['http', 'Grpc-Web', 'HTTP_PROXY', 'mongo', 'MySQL', 'UDP', '']) {
      expectValid(ingress({ port: { ...httpPort, protocol } }));
    }
  });

  it('I5 lowercases like Go (U+0130 becomes i)', () => {
    expectValid(ingress({ port: { ...httpPort, protocol: 'REDİS' } }));
  });

  it('I6 port number must be 1..65535 (0 is invalid on ingress)', () => {
    expectFindings(ingress({ port: { ...httpPort, number: 0 } }), [
      ['I6', `${P}.port.number`, 'port number 0 must be in the range 1..65535'],
    ]);
    expectFindings(ingress({ port: { ...httpPort, number: 4294967295 } }), [
      ['I6', `${P}.port.number`, 'port number 4294967295 must be in the range 1..65535'],
    ]);
    expectValid(ingress({ port: { ...httpPort, number: 65535 } }));
  });

  it('I7 bind must be an IP address', () => {
    expectFindings(ingress({ port: httpPort, bind: 'unix:///var/run/a.sock' }), [
      ['I7', `${P}.bind`, 'unix:///var/run/a.sock is not a valid IP'],
    ]);
    expectFindings(ingress({ port: httpPort, bind: '010.0.0.1' }), [
      ['I7', `${P}.bind`, '010.0.0.1 is not a valid IP'],
    ]);
    expectValid(ingress({ port: httpPort, bind: '0.0.0.0' }));
    expectValid(ingress({ port: httpPort, bind: 'fe80::1%eth0' }));
  });

  it('reports I3, I4, I5, I6, I7 in that order', () => {
    expectFindings(ingress({ port: { number: 70000, protocol: 'x', name: '-', targetPort: 1 }, bind: 'h' }), [
      ['I3', `${P}.port.targetPort`, 'targetPort has no impact on Sidecars'],
      ['I4', `${P}.port.name`, 'invalid port name: -'],
      ['I5', `${P}.port.protocol`, 'unsupported protocol: x'],
      ['I6', `${P}.port.number`, 'port number 70000 must be in the range 1..65535'],
      ['I7', `${P}.bind`, 'h is not a valid IP'],
    ]);
  });
});

describe('I8 duplicate ingress ports', () => {
  it('ignores bind', () => {
    expectFindings(
      {
        ingress: [
          { port: httpPort, bind: '127.0.0.1' },
          { port: { ...httpPort, name: 'other' }, bind: '10.0.0.1' },
        ],
      },
      [['I8', 'spec.ingress[1].port.number', 'sidecar: ports on IP bound listeners must be unique']],
    );
  });

  it('also counts port number 0 and skips port-less listeners', () => {
    const got = findings({ ingress: [{ port: {} }, {}, { port: {} }] });
    assert.deepEqual(
      got.map((f) => f[0]),
      ['I6', 'I2', 'I6', 'I8'],
    );
  });

  it('is separate from the egress port set', () => {
    expectValid({ ingress: [{ port: httpPort }], egress: [{ port: httpPort, hosts: ['./*'] }] });
  });
});

describe('I9 unix:// defaultEndpoint', () => {
  it('rejects an empty path', () => {
    expectFindings(endpoint('unix://'), [['I9', EP, 'unix address must not be empty']]);
  });

  it('rejects relative paths and paths ending in /', () => {
    expectFindings(endpoint('unix://var/run/a.sock'), [['I9', EP, 'var/run/a.sock is not an absolute path to a file']]);
    expectFindings(endpoint('unix:///'), [['I9', EP, '/ is not an absolute path to a file']]);
    expectFindings(endpoint('unix:///var/run/'), [['I9', EP, '/var/run/ is not an absolute path to a file']]);
  });

  it('accepts absolute paths and abstract sockets without further checks', () => {
    expectValid(endpoint('unix:///var/run/app.sock'));
    expectValid(endpoint('unix://@abstract'));
    expectValid(endpoint('unix://@'));
  });

  it('is case-sensitive: UNIX:// is parsed as host:port', () => {
    expectFindings(endpoint('UNIX:///x'), [
      ['I11', EP, I11_MESSAGE],
      ['I12', EP, 'sidecar: defaultEndpoint port (///x) is not a number: strconv.Atoi: parsing "///x": invalid syntax'],
    ]);
  });
});

describe('I10 SplitHostPort failure', () => {
  const emptyPort: Finding = [
    'I12',
    EP,
    'sidecar: defaultEndpoint port () is not a number: strconv.Atoi: parsing "": invalid syntax',
  ];

  it('reports Go’s error, then I12 with an empty port', () => {
    expectFindings(endpoint('127.0.0.1'), [['I10', EP, 'address 127.0.0.1: missing port in address'], emptyPort]);
  });

  it('too many colons', () => {
    expectFindings(endpoint('::1:8080'), [['I10', EP, 'address ::1:8080: too many colons in address'], emptyPort]);
  });

  it('missing bracket and unexpected brackets', () => {
    expectFindings(endpoint('[::1:8080'), [['I10', EP, "address [::1:8080: missing ']' in address"], emptyPort]);
    expectFindings(endpoint('[::1]'), [['I10', EP, 'address [::1]: missing port in address'], emptyPort]);
    expectFindings(endpoint('a]:80'), [['I10', EP, "address a]:80: unexpected ']' in address"], emptyPort]);
    expectFindings(endpoint('127.0.0.1:80]'), [
      ['I10', EP, "address 127.0.0.1:80]: unexpected ']' in address"],
      emptyPort,
    ]);
    expectFindings(endpoint('[::1]:80:80'), [
      ['I10', EP, 'address [::1]:80:80: too many colons in address'],
      emptyPort,
    ]);
  });
});

describe('I11 defaultEndpoint host', () => {
  it('rejects hosts other than loopback/any', () => {
    for (const ep of ['localhost:80', '127.0.0.2:80', '1.1.1.1:90', '[0:0::1]:80', '[::ffff:127.0.0.1]:80']) {
      expectFindings(endpoint(ep), [['I11', EP, I11_MESSAGE]]);
    }
  });

  it('accepts the four hosts, bracketed forms and an empty host', () => {
    for (const ep of ['127.0.0.1:80', '0.0.0.0:80', '[::1]:80', '[::]:80', ':8080', '[127.0.0.1]:8080']) {
      expectValid(endpoint(ep));
    }
  });
});

describe('I12 defaultEndpoint port is not a number', () => {
  it('uses Go strconv.Atoi error texts', () => {
    expectFindings(endpoint('127.0.0.1:hi'), [
      ['I12', EP, 'sidecar: defaultEndpoint port (hi) is not a number: strconv.Atoi: parsing "hi": invalid syntax'],
    ]);
    expectFindings(endpoint('127.0.0.1:99999999999999999999'), [
      [
        'I12',
        EP,
        'sidecar: defaultEndpoint port (99999999999999999999) is not a number: strconv.Atoi: parsing "99999999999999999999": value out of range',
      ],
    ]);
    expectFindings(endpoint('127.0.0.1:'), [
      ['I12', EP, 'sidecar: defaultEndpoint port () is not a number: strconv.Atoi: parsing "": invalid syntax'],
    ]);
    expectFindings(endpoint('127.0.0.1:١٢'), [
      ['I12', EP, 'sidecar: defaultEndpoint port (١٢) is not a number: strconv.Atoi: parsing "١٢": invalid syntax'],
    ]);
  });

  it('accepts a sign and leading zeros', () => {
    expectValid(endpoint('127.0.0.1:+80'));
    expectValid(endpoint('127.0.0.1:0080'));
  });
});

describe('I13 defaultEndpoint port range', () => {
  it('rejects 0, negatives and > 65535', () => {
    expectFindings(endpoint('127.0.0.1:0'), [['I13', EP, 'port number 0 must be in the range 1..65535']]);
    expectFindings(endpoint('[::1]:-1'), [['I13', EP, 'port number -1 must be in the range 1..65535']]);
    expectFindings(endpoint(':65536'), [['I13', EP, 'port number 65536 must be in the range 1..65535']]);
    expectFindings(endpoint(':9223372036854775807'), [
      ['I13', EP, 'port number 9223372036854775807 must be in the range 1..65535'],
    ]);
  });

  it('takes leading zeros and signs at the edges of the range', () => {
    expectValid(endpoint('127.0.0.1:65535'));
    expectValid(endpoint('127.0.0.1:065535'));
    expectValid(endpoint('0.0.0.0:1'));
    expectFindings(endpoint('127.0.0.1:065536'), [['I13', EP, 'port number 65536 must be in the range 1..65535']]);
    expectFindings(endpoint('127.0.0.1:-0'), [['I13', EP, 'port number 0 must be in the range 1..65535']]);
    expectFindings(endpoint('[::]:000'), [['I13', EP, 'port number 0 must be in the range 1..65535']]);
  });
});

describe('I14–I20 Sidecar ingress TLS restrictions', () => {
  const T = `${P}.tls`;
  const simple = { mode: 'SIMPLE', serverCertificate: '/c.pem', privateKey: '/k.pem' };

  it('accepts SIMPLE with files on HTTPS and TLS ports, and tls {} (PASSTHROUGH)', () => {
    expectValid(ingress({ port: httpsPort, tls: simple }));
    expectValid(ingress({ port: { ...httpsPort, protocol: 'tls' }, tls: simple }));
    expectValid(ingress({ port: httpsPort, tls: {} }));
  });

  it('I14 subjectAltNames', () => {
    expectFindings(ingress({ port: httpsPort, tls: { ...simple, subjectAltNames: ['a.com'] } }), [
      ['I14', `${T}.subjectAltNames`, 'sidecar: subjectAltNames is not supported in ingress tls'],
    ]);
  });

  it('I15 httpsRedirect', () => {
    expectFindings(ingress({ port: httpsPort, tls: { ...simple, httpsRedirect: true } }), [
      ['I15', `${T}.httpsRedirect`, 'sidecar: httpsRedirect is not supported'],
    ]);
  });

  it('I16 credentialName (certificate checks then stop: T7)', () => {
    expectFindings(ingress({ port: httpsPort, tls: { mode: 'SIMPLE', credentialName: 'secret' } }), [
      ['I16', `${T}.credentialName`, 'sidecar: credentialName is not currently supported'],
    ]);
  });

  it('I17 credentialNames', () => {
    expectFindings(ingress({ port: httpsPort, tls: { mode: 'SIMPLE', credentialNames: ['a', 'b'] } }), [
      ['I17', `${T}.credentialNames`, 'sidecar: credentialNames is not currently supported'],
    ]);
  });

  it('I18 tlsCertificates', () => {
    expectFindings(
      ingress({
        port: httpsPort,
        tls: { mode: 'SIMPLE', tlsCertificates: [{ serverCertificate: '/c', privateKey: '/k' }] },
      }),
      [['I18', `${T}.tlsCertificates`, 'sidecar: tls_certificates is not currently supported']],
    );
  });

  it('I19 ISTIO_MUTUAL and AUTO_PASSTHROUGH (names or numbers)', () => {
    expectFindings(ingress({ port: httpsPort, tls: { mode: 'ISTIO_MUTUAL' } }), [
      ['I19', `${T}.mode`, 'configuration is invalid: cannot set mode to ISTIO_MUTUAL in sidecar ingress tls'],
    ]);
    expectFindings(ingress({ port: httpsPort, tls: { mode: 3 } }), [
      ['I19', `${T}.mode`, 'configuration is invalid: cannot set mode to AUTO_PASSTHROUGH in sidecar ingress tls'],
    ]);
  });

  it('I20 TLS on a non-HTTPS/TLS port, including an empty protocol', () => {
    for (const protocol of ['TCP', 'HTTP', '']) {
      expectFindings(ingress({ port: { ...httpPort, protocol }, tls: {} }), [
        ['I20', `${P}.port.protocol`, 'server cannot have TLS settings for non HTTPS/TLS ports'],
      ]);
    }
  });

  it('reports I14–I20 before the TLS option rules', () => {
    const got = findings(
      ingress({
        port: httpPort,
        tls: {
          mode: 'ISTIO_MUTUAL',
          subjectAltNames: ['x'],
          httpsRedirect: true,
          credentialName: 'c',
          credentialNames: ['d'],
          tlsCertificates: [{}],
        },
      }),
    );
    assert.deepEqual(
      got.map((f) => f[0]),
      ['I14', 'I15', 'I16', 'I17', 'I18', 'I19', 'I20', 'T4', 'T4', 'T4'],
    );
  });
});

describe('I23 HTTP pool settings on a non-HTTP port', () => {
  const warn = (number: number, quotedName: string, protocol: string): Finding => [
    'I23',
    `${P}.connectionPool.http`,
    `sidecar: HTTP connection pool settings are configured for port ${number} (${quotedName}) but its protocol is not HTTP (${protocol}); only TCP settings will apply`,
  ];

  it('warns for TCP, with the port name Go-quoted and the protocol as written', () => {
    expectFindings(
      ingress({ port: { number: 9000, protocol: 'Tcp', name: 'db "main"' }, connectionPool: { http: {} } }),
      [['I4', `${P}.port.name`, 'invalid port name: db "main"'], warn(9000, '"db \\"main\\""', 'Tcp')],
    );
  });

  it('warns for empty protocol, HTTPS and TLS too', () => {
    expectFindings(ingress({ port: { number: 80 }, connectionPool: { http: { maxRetries: 3 } } }), [
      warn(80, '""', ''),
    ]);
    expectFindings(ingress({ port: httpsPort, connectionPool: { http: {} } }), [warn(8443, '"https"', 'HTTPS')]);
  });

  it('also fires when the pool has errors', () => {
    expectFindings(
      ingress({ port: { number: 81, protocol: 'TCP', name: 'tcp' }, connectionPool: { http: { maxRetries: -1 } } }),
      [['C5', `${P}.connectionPool.http.maxRetries`, 'max retries must be non-negative'], warn(81, '"tcp"', 'TCP')],
    );
  });

  it('is quiet for HTTP-family protocols and TCP-only pools', () => {
    for (const protocol of ['http', 'HTTP2', 'http_proxy', 'grpc', 'GRPC-WEB']) {
      expectValid(ingress({ port: { ...httpPort, protocol }, connectionPool: { http: {} } }));
    }
    expectValid(ingress({ port: { number: 81, protocol: 'TCP' }, connectionPool: { tcp: { maxConnections: 5 } } }));
  });

  it('is not emitted for an empty pool (C1 only)', () => {
    expectFindings(ingress({ port: { number: 81, protocol: 'TCP' }, connectionPool: {} }), [
      ['C1', `${P}.connectionPool`, 'connection pool must have at least one field'],
    ]);
  });
});
