// E2–E15: egress listeners (hosts have their own file).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RULES } from '../../../src/sidecar/rules/index.js';
import { expectFindings, expectValid, findings, type Finding } from './helpers.js';

const HOSTS = ['./*'];
const E2_MESSAGE = 'sidecar: the egress listener with empty port should be the last listener in the list';
const uds = (bind: unknown, extra: Record<string, unknown> = {}) => ({
  port: { number: 0, name: 'uds', protocol: 'HTTP' },
  bind,
  hosts: HOSTS,
  ...extra,
});
const ip = (number: number, extra: Record<string, unknown> = {}) => ({
  port: { number, protocol: 'HTTP' },
  hosts: HOSTS,
  ...extra,
});

describe('E2 port-less listener must be last', () => {
  it('accepts a single catch-all in last position', () => {
    expectValid({ egress: [ip(80), { hosts: HOSTS }] });
  });

  it('reports a port-less listener before the end, and still checks its hosts', () => {
    expectFindings({ egress: [{ hosts: ['bad'] }, ip(80)] }, [
      ['E2', 'spec.egress[0].port', E2_MESSAGE],
      ['H1', 'spec.egress[0].hosts[0]', 'host must be of form namespace/dnsName'],
    ]);
  });

  it('gives N-1 E2 for N port-less listeners and never E3', () => {
    const got = findings({ egress: [{ hosts: HOSTS }, { hosts: HOSTS }, { hosts: HOSTS }] });
    assert.deepEqual(got, [
      ['E2', 'spec.egress[0].port', E2_MESSAGE],
      ['E2', 'spec.egress[1].port', E2_MESSAGE],
    ]);
    assert.ok(RULES.E3.unreachable);
  });

  it('does not check bind or captureMode of a catch-all', () => {
    expectValid({ egress: [{ hosts: HOSTS, bind: 'not-an-ip', captureMode: 'IPTABLES' }] });
  });
});

describe('E4, E5 any port', () => {
  it('E4 targetPort', () => {
    expectFindings({ egress: [{ ...ip(80), port: { number: 80, targetPort: 8080 } }] }, [
      ['E4', 'spec.egress[0].port.targetPort', 'targetPort has no impact on Sidecars'],
    ]);
  });

  it('E5 port name, for IP and Unix socket listeners', () => {
    expectFindings({ egress: [{ port: { number: 80, name: 'web.1' }, hosts: HOSTS }] }, [
      ['E5', 'spec.egress[0].port.name', 'invalid port name: web.1'],
    ]);
    expectFindings({ egress: [{ ...uds('unix:///a.sock'), port: { number: 0, name: 'Bad Name' } }] }, [
      ['E5', 'spec.egress[0].port.name', 'invalid port name: Bad Name'],
    ]);
  });
});

describe('E6–E10 Unix domain socket listeners (port number 0)', () => {
  it('accepts absolute and abstract socket paths', () => {
    expectValid({ egress: [uds('unix:///var/run/a.sock'), uds('unix://@abstract')] });
  });

  it('E6 unknown protocol', () => {
    expectFindings({ egress: [{ ...uds('unix:///a.sock'), port: { protocol: 'smtp' } }] }, [
      ['E6', 'spec.egress[0].port.protocol', 'unsupported protocol: smtp'],
    ]);
  });

  it('E7 bind must start with unix:// (port {} included, case-sensitive)', () => {
    const E7: Finding = [
      'E7',
      'spec.egress[0].bind',
      'sidecar: ports with 0 value must have a unix domain socket bind address',
    ];
    expectFindings({ egress: [{ port: {}, hosts: HOSTS }] }, [E7]);
    expectFindings({ egress: [uds('foobar:///@foo/bar/com')] }, [E7]);
    expectFindings({ egress: [uds('UNIX:///a.sock')] }, [E7]);
  });

  it('E8 socket path', () => {
    expectFindings({ egress: [uds('unix://')] }, [['E8', 'spec.egress[0].bind', 'unix address must not be empty']]);
    expectFindings({ egress: [uds('unix://tmp/a.sock')] }, [
      ['E8', 'spec.egress[0].bind', 'tmp/a.sock is not an absolute path to a file'],
    ]);
    expectFindings({ egress: [uds('unix:///tmp/')] }, [
      ['E8', 'spec.egress[0].bind', '/tmp/ is not an absolute path to a file'],
    ]);
  });

  it('E9 captureMode must be DEFAULT or NONE', () => {
    const E9: Finding = [
      'E9',
      'spec.egress[0].captureMode',
      'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners',
    ];
    expectFindings({ egress: [uds('unix:///a.sock', { captureMode: 'IPTABLES' })] }, [E9]);
    expectFindings({ egress: [uds('unix:///a.sock', { captureMode: 1 })] }, [E9]);
    expectFindings({ egress: [uds('unix:///a.sock', { captureMode: 7 })] }, [E9]);
    expectValid({
      egress: [uds('unix:///a.sock', { captureMode: 'NONE' }), uds('unix:///b.sock', { captureMode: 'DEFAULT' })],
    });
  });

  it('E9 is not checked for IP listeners', () => {
    expectValid({ egress: [ip(80, { captureMode: 'IPTABLES' })] });
  });

  it('E10 duplicate bind strings, compared exactly', () => {
    expectFindings({ egress: [uds('unix:///a.sock'), uds('unix:///a.sock')] }, [
      ['E10', 'spec.egress[1].bind', 'sidecar: unix domain socket values for listeners must be unique'],
    ]);
    expectValid({ egress: [uds('unix:///a.sock'), uds('unix:////a.sock')] });
  });

  it('E10 counts the empty bind too', () => {
    const got = findings({
      egress: [
        { port: {}, hosts: HOSTS },
        { port: {}, hosts: HOSTS },
      ],
    });
    assert.deepEqual(
      got.map((f) => f[0]),
      ['E7', 'E7', 'E10'],
    );
  });

  it('reports E6, E7/E8, E9, E10 in order', () => {
    expectFindings(
      { egress: [uds('unix://'), { ...uds('unix://', { captureMode: 'IPTABLES' }), port: { protocol: 'x' } }] },
      [
        ['E8', 'spec.egress[0].bind', 'unix address must not be empty'],
        ['E6', 'spec.egress[1].port.protocol', 'unsupported protocol: x'],
        ['E8', 'spec.egress[1].bind', 'unix address must not be empty'],
        [
          'E9',
          'spec.egress[1].captureMode',
          'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners',
        ],
        ['E10', 'spec.egress[1].bind', 'sidecar: unix domain socket values for listeners must be unique'],
      ],
    );
  });
});

describe('E11–E14 IP listeners', () => {
  it('E11 unknown protocol', () => {
    expectFindings({ egress: [{ port: { number: 25, protocol: 'SMTP' }, hosts: HOSTS }] }, [
      ['E11', 'spec.egress[0].port.protocol', 'unsupported protocol: SMTP'],
    ]);
  });

  it('E12 port above 65535', () => {
    expectFindings({ egress: [ip(65536)] }, [
      ['E12', 'spec.egress[0].port.number', 'port number 65536 must be in the range 1..65535'],
    ]);
  });

  it('E13 bind must be an IP (a unix:// bind with a real port fails here)', () => {
    expectFindings({ egress: [ip(80, { bind: 'unix:///a.sock' })] }, [
      ['E13', 'spec.egress[0].bind', 'unix:///a.sock is not a valid IP'],
    ]);
    expectFindings({ egress: [ip(80, { bind: '10.0.0.1/32' })] }, [
      ['E13', 'spec.egress[0].bind', '10.0.0.1/32 is not a valid IP'],
    ]);
    expectValid({ egress: [ip(80, { bind: '::ffff:10.0.0.1' })] });
  });

  it('E14 duplicate port numbers, whatever the bind', () => {
    expectFindings({ egress: [ip(90, { bind: '127.0.0.1' }), ip(90, { bind: '127.0.0.2' })] }, [
      ['E14', 'spec.egress[1].port.number', 'sidecar: ports on IP bound listeners must be unique'],
    ]);
  });

  it('keeps ingress and egress port sets apart', () => {
    expectValid({ ingress: [{ port: { number: 90, protocol: 'HTTP' } }], egress: [ip(90)] });
  });
});

describe('E15 hosts required', () => {
  it('rejects a listener without hosts, catch-all included', () => {
    expectFindings({ egress: [{ port: { number: 80 } }] }, [
      ['E15', 'spec.egress[0].hosts', 'sidecar: egress listener must contain at least one host'],
    ]);
    expectFindings({ egress: [{ hosts: [] }] }, [
      ['E15', 'spec.egress[0].hosts', 'sidecar: egress listener must contain at least one host'],
    ]);
  });

  it('a null egress listener is a port-less listener without hosts', () => {
    expectFindings({ egress: [null] }, [
      ['E15', 'spec.egress[0].hosts', 'sidecar: egress listener must contain at least one host'],
    ]);
    expectFindings({ egress: [null, ip(80)] }, [
      ['E2', 'spec.egress[0].port', E2_MESSAGE],
      ['E15', 'spec.egress[0].hosts', 'sidecar: egress listener must contain at least one host'],
    ]);
  });
});
