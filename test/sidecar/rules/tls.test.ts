// T1–T12: server TLS options of an ingress listener (HTTPS port, so I20 stays quiet).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidCipherSuite } from '../../../src/sidecar/rules/tls.js';
import { expectFindings, expectValid, findings, httpsPort, ingress, type Finding } from './helpers.js';

const T = 'spec.ingress[0].tls';
const withTls = (tls: unknown) => ingress({ port: httpsPort, tls });
const simple = { mode: 'SIMPLE', serverCertificate: '/c.pem', privateKey: '/k.pem' };
const mutual = { ...simple, mode: 'MUTUAL', caCertificates: '/ca.pem' };

describe('T1 old TLS versions need cipher suites', () => {
  const T1: Finding = [
    'T1',
    `${T}.minProtocolVersion`,
    'TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.',
  ];

  it('warns for TLSV1_0 and TLSV1_1 (name or number) without cipherSuites', () => {
    expectFindings(withTls({ ...simple, minProtocolVersion: 'TLSV1_0' }), [T1]);
    expectFindings(withTls({ ...simple, minProtocolVersion: 2 }), [T1]);
  });

  it('is quiet with cipher suites or a newer minimum', () => {
    expectValid(withTls({ ...simple, minProtocolVersion: 'TLSV1_1', cipherSuites: ['AES128-SHA'] }));
    expectValid(withTls({ ...simple, minProtocolVersion: 'TLSV1_2' }));
  });
});

describe('T2 invalid cipher suites', () => {
  it('lists them sorted and de-duplicated, Go %v style', () => {
    expectFindings(withTls({ ...simple, cipherSuites: ['ZZZ', 'AES128-SHA', 'BAD', 'ZZZ', 'ecdhe-rsa-aes128-sha'] }), [
      ['T2', `${T}.cipherSuites`, 'ignoring invalid cipher suites: [BAD ZZZ ecdhe-rsa-aes128-sha]'],
    ]);
  });

  it('accepts "", ALL, OpenSSL operators and the 15 names', () => {
    expectValid(withTls({ ...simple, cipherSuites: ['', 'ALL', '-AES128-SHA', '+X', '!aNULL', 'DES-CBC3-SHA'] }));
  });

  it('reads the first byte as Latin-1 like Istio (rune(cs[0]))', () => {
    assert.equal(isValidCipherSuite('éX'), false); // 0xC3 reads as 'Ã', a letter
    assert.equal(isValidCipherSuite('אX'), true); // 0xD7 reads as '×', not a letter
    assert.equal(isValidCipherSuite(' X'), true);
    assert.equal(isValidCipherSuite('1X'), false);
  });
});

describe('T3 duplicate cipher suites', () => {
  it('lists valid duplicates sorted', () => {
    expectFindings(
      withTls({ ...simple, cipherSuites: ['AES256-SHA', 'AES128-SHA', 'AES256-SHA', 'AES128-SHA', 'AES128-SHA'] }),
      [['T3', `${T}.cipherSuites`, 'ignoring duplicate cipher suites: [AES128-SHA AES256-SHA]']],
    );
  });

  it('comes after T2', () => {
    const got = findings(withTls({ ...simple, cipherSuites: ['X', 'X', 'ALL', 'ALL'] }));
    assert.deepEqual(got, [
      ['T2', `${T}.cipherSuites`, 'ignoring invalid cipher suites: [X]'],
      ['T3', `${T}.cipherSuites`, 'ignoring duplicate cipher suites: [ALL]'],
    ]);
  });
});

describe('T4 ISTIO_MUTUAL with certificates', () => {
  it('reports each set field in order, then stops the TLS checks', () => {
    const tls = {
      mode: 'ISTIO_MUTUAL',
      serverCertificate: '/c',
      privateKey: '/k',
      caCertificates: '/ca',
      caCrl: '/crl',
      credentialName: 'n',
    };
    expectFindings(withTls(tls), [
      ['I16', `${T}.credentialName`, 'sidecar: credentialName is not currently supported'],
      ['I19', `${T}.mode`, 'configuration is invalid: cannot set mode to ISTIO_MUTUAL in sidecar ingress tls'],
      ['T4', `${T}.serverCertificate`, 'ISTIO_MUTUAL TLS cannot have associated server certificate'],
      ['T4', `${T}.privateKey`, 'ISTIO_MUTUAL TLS cannot have associated private key'],
      ['T4', `${T}.caCertificates`, 'ISTIO_MUTUAL TLS cannot have associated CA bundle'],
      ['T4', `${T}.credentialName`, 'ISTIO_MUTUAL TLS cannot have associated credentialName'],
    ]); // no T6 (two sources) and no T11 (caCrl + credentialName): T4 stops
  });

  it('covers tlsCertificates and credentialNames', () => {
    const got = findings(withTls({ mode: 4, tlsCertificates: [{}], credentialNames: ['x'] })).filter(
      (f) => f[0] === 'T4',
    );
    assert.deepEqual(got, [
      ['T4', `${T}.tlsCertificates`, 'ISTIO_MUTUAL TLS cannot have associated tlsCertificates'],
      ['T4', `${T}.credentialNames`, 'ISTIO_MUTUAL TLS cannot have associated credentialNames'],
    ]);
  });

  it('still runs T1–T3 before stopping', () => {
    const got = findings(withTls({ mode: 'ISTIO_MUTUAL', cipherSuites: ['NOPE'] }));
    assert.deepEqual(
      got.map((f) => f[0]),
      ['I19', 'T2'],
    );
  });
});

describe('T5 passthrough modes ignore certificates', () => {
  it('warns for PASSTHROUGH, also when mode is omitted', () => {
    const T5: Finding = ['T5', `${T}.mode`, 'PASSTHROUGH mode does not use certificates, they will be ignored'];
    expectFindings(withTls({ caCertificates: '/ca' }), [T5]);
    expectFindings(withTls({ mode: 'PASSTHROUGH', caCrl: '/crl' }), [T5]);
  });

  it('names AUTO_PASSTHROUGH', () => {
    expectFindings(withTls({ mode: 'AUTO_PASSTHROUGH', privateKey: '/k' }), [
      ['I19', `${T}.mode`, 'configuration is invalid: cannot set mode to AUTO_PASSTHROUGH in sidecar ingress tls'],
      ['T5', `${T}.mode`, 'AUTO_PASSTHROUGH mode does not use certificates, they will be ignored'],
    ]);
  });
});

describe('T6 more than one certificate source', () => {
  const T6: Finding = [
    'T6',
    T,
    'only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified',
  ];

  it('counts a full serverCertificate/privateKey pair as one source', () => {
    expectFindings(withTls({ ...simple, tlsCertificates: [{ serverCertificate: '/c', privateKey: '/k' }] }), [
      ['I18', `${T}.tlsCertificates`, 'sidecar: tls_certificates is not currently supported'],
      T6,
    ]);
  });

  it('does not count a lone serverCertificate', () => {
    const got = findings(withTls({ mode: 'SIMPLE', serverCertificate: '/c', credentialName: 'x' }));
    assert.ok(!got.some((f) => f[0] === 'T6'));
  });

  it('fires before T7 stops the checks', () => {
    expectFindings(withTls({ mode: 'MUTUAL', credentialName: 'a', credentialNames: ['b'] }), [
      ['I16', `${T}.credentialName`, 'sidecar: credentialName is not currently supported'],
      ['I17', `${T}.credentialNames`, 'sidecar: credentialNames is not currently supported'],
      T6,
    ]);
  });
});

describe('T7 credential-based modes skip the file checks', () => {
  it('skips T8–T12 for SIMPLE/MUTUAL/OPTIONAL_MUTUAL with credentialNames', () => {
    expectFindings(withTls({ mode: 'OPTIONAL_MUTUAL', credentialNames: ['x'], caCrl: '/crl' }), [
      ['I17', `${T}.credentialNames`, 'sidecar: credentialNames is not currently supported'],
    ]);
  });
});

describe('T8 MUTUAL needs a client CA bundle', () => {
  it('ignores caCertCredentialName', () => {
    expectFindings(withTls({ ...simple, mode: 'MUTUAL', caCertCredentialName: 'ca-secret' }), [
      ['T8', `${T}.caCertificates`, 'MUTUAL TLS requires a client CA bundle'],
    ]);
  });

  it('applies to OPTIONAL_MUTUAL and comes before T10', () => {
    expectFindings(withTls({ mode: 'OPTIONAL_MUTUAL' }), [
      ['T8', `${T}.caCertificates`, 'MUTUAL TLS requires a client CA bundle'],
      ['T10', `${T}.serverCertificate`, 'MUTUAL TLS requires a server certificate'],
      ['T10', `${T}.privateKey`, 'MUTUAL TLS requires a private key'],
    ]);
  });

  it('accepts a complete MUTUAL configuration', () => {
    expectValid(withTls(mutual));
  });
});

describe('T9 more than two server certificates', () => {
  it('warns with the mode prefix', () => {
    const certs = [1, 2, 3].map((n) => ({ serverCertificate: `/c${n}`, privateKey: `/k${n}` }));
    expectFindings(withTls({ mode: 'SIMPLE', tlsCertificates: certs }), [
      ['I18', `${T}.tlsCertificates`, 'sidecar: tls_certificates is not currently supported'],
      ['T9', `${T}.tlsCertificates`, 'SIMPLE TLS can support up to 2 server certificates'],
    ]);
    const got = findings(withTls({ ...mutual, serverCertificate: '', privateKey: '', tlsCertificates: certs }));
    assert.deepEqual(got[1], ['T9', `${T}.tlsCertificates`, 'MUTUAL TLS can support up to 2 server certificates']);
  });
});

describe('T10 server certificate and key', () => {
  it('checks the top-level pair when there are no tlsCertificates', () => {
    expectFindings(withTls({ mode: 'SIMPLE', privateKey: '/k' }), [
      ['T10', `${T}.serverCertificate`, 'SIMPLE TLS requires a server certificate'],
    ]);
    expectFindings(withTls({ mode: 1, serverCertificate: '/c' }), [
      ['T10', `${T}.privateKey`, 'SIMPLE TLS requires a private key'],
    ]);
  });

  it('checks each tlsCertificates entry instead', () => {
    expectFindings(
      withTls({
        mode: 'SIMPLE',
        serverCertificate: '/c',
        tlsCertificates: [{ privateKey: '/k' }, { serverCertificate: '/c' }, null],
      }),
      [
        ['I18', `${T}.tlsCertificates`, 'sidecar: tls_certificates is not currently supported'],
        ['T9', `${T}.tlsCertificates`, 'SIMPLE TLS can support up to 2 server certificates'],
        ['T10', `${T}.tlsCertificates[0].serverCertificate`, 'SIMPLE TLS requires a server certificate'],
        ['T10', `${T}.tlsCertificates[1].privateKey`, 'SIMPLE TLS requires a private key'],
        ['T10', `${T}.tlsCertificates[2].serverCertificate`, 'SIMPLE TLS requires a server certificate'],
        ['T10', `${T}.tlsCertificates[2].privateKey`, 'SIMPLE TLS requires a private key'],
      ],
    );
  });

  it('does not apply to unknown mode numbers', () => {
    expectValid(withTls({ mode: 9 }));
  });
});

describe('T11/T12 certificate revocation list', () => {
  it('T11 caCrl with credentialName (only reachable in passthrough modes)', () => {
    expectFindings(withTls({ caCrl: '/crl', credentialName: 'c' }), [
      ['I16', `${T}.credentialName`, 'sidecar: credentialName is not currently supported'],
      ['T5', `${T}.mode`, 'PASSTHROUGH mode does not use certificates, they will be ignored'],
      ['T11', `${T}.caCrl`, 'CRL is not supported with credentialName. CRL has to be specified in the credential'],
    ]);
  });

  it('T12 caCrl with SIMPLE', () => {
    expectFindings(withTls({ ...simple, caCrl: '/crl' }), [
      ['T12', `${T}.caCrl`, 'CRL is not supported with SIMPLE TLS'],
    ]);
  });

  it('accepts caCrl with MUTUAL', () => {
    expectValid(withTls({ ...mutual, caCrl: '/crl' }));
  });
});
