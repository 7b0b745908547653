import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSchema, SCHEMA_RULES, SERVED_VERSIONS } from '../../../src/sidecar/schema/index.js';
import { CEL_RULES_SKIPPED } from '../../../src/sidecar/schema/k8s-errors.js';
import { check, lenient, lines, strict, validSidecar, withValue } from './helpers.js';

describe('checkSchema: a valid Sidecar', () => {
  it('has no findings, strict or not', () => {
    assert.deepEqual(check(validSidecar(), strict), { violations: [], fatal: false });
    assert.deepEqual(check(validSidecar(), lenient), { violations: [], fatal: false });
  });

  it('accepts an object without spec and an empty spec', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec', undefined))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec', {}))), []);
  });
});

describe('apiVersion and kind (object.kind)', () => {
  for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
    it(`accepts networking.istio.io/${version}`, () => {
      assert.deepEqual(lines(check(withValue(validSidecar(), 'apiVersion', `networking.istio.io/${version}`))), []);
    });
  }

  it('lists the served versions from the CRD, most preferred first', () => {
    assert.deepEqual(SERVED_VERSIONS, ['v1', 'v1beta1', 'v1alpha3']);
  });

  it('refuses another version or group', () => {
    assert.deepEqual(
      lines(check(withValue(validSidecar(), 'apiVersion', 'networking.istio.io/v2')))[0],
      [
        'object.kind apiVersion: Unsupported value: "networking.istio.io/v2": supported values: ',
        '"networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"',
      ].join(''),
    );
    assert.equal(
      check(withValue(validSidecar(), 'apiVersion', 'security.istio.io/v1')).violations[0]?.rule,
      'object.kind',
    );
  });

  it('refuses a missing apiVersion and a wrong or missing kind', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'apiVersion', undefined))), [
      'object.kind apiVersion: Required value',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'kind', 'Gateway'))), [
      'object.kind kind: Invalid value: "Gateway": must be Sidecar',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'kind', undefined))), ['object.kind kind: Required value']);
  });

  it('stops there, like the API server: nothing else of an object that is not a Sidecar is checked', () => {
    const pod = withValue(withValue(validSidecar(), 'kind', 'Pod'), 'spec.egress.0.captureMode', 'FOO');
    withValue(pod, 'spec.bogus', 1);
    assert.deepEqual(lines(check(pod)), ['object.kind kind: Invalid value: "Pod": must be Sidecar']);
    assert.equal(check(pod).fatal, true);
  });
});

describe("the API server's order: structural errors first, CEL rules only without blocking ones", () => {
  const notChecked = CEL_RULES_SKIPPED;
  const celFailure = () => withValue(validSidecar(), 'spec.ingress.0.connectionPool.tcp.connectTimeout', '0s');

  it('runs the CEL rules when the structure is sound, or only has range errors', () => {
    assert.deepEqual(
      check(celFailure()).violations.map((v) => v.rule),
      ['schema.cel'],
    );
    const withRange = withValue(celFailure(), 'spec.ingress.0.port.number', 4294967296);
    assert.deepEqual(
      check(withRange).violations.map((v) => v.rule),
      ['schema.range', 'schema.cel'],
    );
  });

  for (const [what, path, value] of [
    ['a wrong type', 'spec.ingress.0.port.number', 'eighty'],
    ['a missing required field', 'spec.egress.0.hosts', undefined],
    ['an unsupported enum value', 'spec.outboundTrafficPolicy.mode', 'OPEN'],
    ['too many items', 'spec.ingress.0.tls.credentialNames', ['a', 'b', 'c']],
  ] as const) {
    it(`skips them after ${what}, and says so as the API server does (no field)`, () => {
      const v = check(withValue(celFailure(), path, value as never)).violations;
      assert.ok(!v.some((x) => x.rule === 'schema.cel' && x.message !== notChecked), 'no CEL finding');
      assert.deepEqual(v.at(-1), {
        rule: 'schema.cel',
        severity: 'error',
        path: '',
        message: notChecked,
        // The note quotes no rule, so the fix is the other errors', not "satisfy the rule quoted".
        hint: "Fix the other errors first; the API server then checks the CRD's validation rules, which may find more.",
      });
      assert.notEqual(v.at(-1)!.hint, SCHEMA_RULES['schema.cel'].hint);
    });
  }

  it('treats a missing metadata.name as blocking too', () => {
    const v = check(withValue(celFailure(), 'metadata.name', undefined)).violations;
    assert.deepEqual(
      v.map((x) => x.message.slice(0, 40)),
      ['Required value: name or generateName is ', notChecked.slice(0, 40)],
    );
  });
});

describe('types (schema.type)', () => {
  it('reports a string where an integer is expected, as the API server words it', () => {
    const result = check(withValue(validSidecar(), 'spec.ingress.0.port.number', '9080'));
    assert.deepEqual(lines(result), [
      'schema.type spec.ingress[0].port.number: Invalid value: "string": spec.ingress[0].port.number in body must be of type integer: "string"',
    ]);
    assert.equal(result.fatal, true);
  });

  it('reports booleans, objects and arrays of the wrong type', () => {
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.egress.0.hosts', 'prod-us1/*');
    withValue(sidecar, 'spec.inboundConnectionPool.http.useClientProtocol', 'true');
    withValue(sidecar, 'spec.outboundTrafficPolicy', ['REGISTRY_ONLY']);
    withValue(sidecar, 'spec.ingress.0.port.number', 1.5);
    assert.deepEqual(lines(check(sidecar)), [
      'schema.type spec.egress[0].hosts: Invalid value: "string": spec.egress[0].hosts in body must be of type array: "string"',
      'schema.type spec.inboundConnectionPool.http.useClientProtocol: Invalid value: "string": spec.inboundConnectionPool.http.useClientProtocol in body must be of type boolean: "string"',
      'schema.type spec.ingress[0].port.number: Invalid value: "number": spec.ingress[0].port.number in body must be of type integer: "number"',
      'schema.type spec.outboundTrafficPolicy: Invalid value: "array": spec.outboundTrafficPolicy in body must be of type object: "array"',
    ]);
  });

  it('reports a spec that is not an object', () => {
    const result = check(withValue(validSidecar(), 'spec', 'nope'));
    assert.deepEqual(lines(result), [
      'schema.type spec: Invalid value: "string": spec in body must be of type object: "string"',
    ]);
    assert.equal(result.fatal, true);
  });

  it('calls a number outside int64 a float, as the API server decodes it (1e300 is no integer there)', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.port.number', 1e300))), [
      'schema.range spec.ingress[0].port.number: Invalid value: 1e+300: spec.ingress[0].port.number in body should be less than or equal to 4.294967295e+09',
      'schema.type spec.ingress[0].port.number: Invalid value: "number": spec.ingress[0].port.number in body must be of type integer: "number"',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.port.number', 4294967296))), [
      'schema.range spec.ingress[0].port.number: Invalid value: 4294967296: spec.ingress[0].port.number in body should be less than or equal to 4294967295',
    ]);
  });

  it('accepts integral numbers written with a fraction (80.0 decodes as an integer)', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.port.number', 80.0))), []);
  });
});

describe('nulls', () => {
  it('accepts null for the nullable insecureSkipVerify', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.tls.insecureSkipVerify', null))), []);
  });

  it('treats null in a non-nullable property as absent, as the API server prunes it', () => {
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.ingress.0.tls.mode', null);
    withValue(sidecar, 'spec.ingress.0.connectionPool', null);
    withValue(sidecar, 'spec.outboundTrafficPolicy.mode', null);
    withValue(sidecar, 'spec.workloadSelector.labels.app', null);
    withValue(sidecar, 'spec', { ...(sidecar.spec as object), inboundConnectionPool: null });
    assert.deepEqual(check(sidecar), { violations: [], fatal: false });
    assert.deepEqual(check(withValue(validSidecar(), 'spec', null)), { violations: [], fatal: false });
  });

  it('reports a null required field as missing, at the field', () => {
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.ingress.0.port', null);
    withValue(sidecar, 'spec.egress.0.hosts', null);
    const result = check(sidecar);
    assert.deepEqual(lines(result), [
      'schema.required spec.egress[0].hosts: Required value',
      'schema.required spec.ingress[0].port: Required value',
    ]);
    assert.equal(result.fatal, false);
  });

  it('reports a null list item as a type error that is not fatal', () => {
    const sidecar = withValue(validSidecar(), 'spec.egress', [null]);
    const result = check(withValue(sidecar, 'spec.ingress', [null]));
    assert.deepEqual(lines(result), [
      'schema.type spec.egress[0]: Invalid value: "null": spec.egress[0] in body must be of type object: "null"',
      'schema.type spec.ingress[0]: Invalid value: "null": spec.ingress[0] in body must be of type object: "null"',
    ]);
    assert.equal(result.fatal, false);
    assert.equal(check(withValue(validSidecar(), 'spec.egress.0.hosts', [null])).fatal, false);
  });
});

describe('required fields (schema.required)', () => {
  it('reports each missing required field at its own path', () => {
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.ingress.0.port', undefined);
    withValue(sidecar, 'spec.egress.1.hosts', undefined);
    withValue(sidecar, 'spec.outboundTrafficPolicy.egressProxy', { port: { number: 443 } });
    assert.deepEqual(lines(check(sidecar)), [
      'schema.required spec.egress[1].hosts: Required value',
      'schema.required spec.ingress[0].port: Required value',
      'schema.required spec.outboundTrafficPolicy.egressProxy.host: Required value',
    ]);
  });

  it('accepts an egressProxy with its host', () => {
    assert.deepEqual(
      lines(check(withValue(validSidecar(), 'spec.outboundTrafficPolicy.egressProxy', { host: 'proxy.example.com' }))),
      [],
    );
  });
});

describe('enums (schema.enum)', () => {
  it('reports a value outside the enum with the supported values', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.egress.0.captureMode', 'FOO'))), [
      'schema.enum spec.egress[0].captureMode: Unsupported value: "FOO": supported values: "DEFAULT", "IPTABLES", "NONE"',
    ]);
  });

  it('is case-sensitive', () => {
    assert.equal(
      check(withValue(validSidecar(), 'spec.outboundTrafficPolicy.mode', 'allow_any')).violations[0]?.rule,
      'schema.enum',
    );
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.outboundTrafficPolicy.mode', 'ALLOW_ANY'))), []);
  });

  it('checks every enum of the CRD', () => {
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.ingress.0.tls.mode', 'STRICT');
    withValue(sidecar, 'spec.ingress.0.tls.maxProtocolVersion', 'TLSV1_4');
    withValue(sidecar, 'spec.ingress.0.connectionPool.http.h2UpgradePolicy', 'ALWAYS');
    assert.deepEqual(lines(check(sidecar)), [
      'schema.enum spec.ingress[0].connectionPool.http.h2UpgradePolicy: Unsupported value: "ALWAYS": supported values: "DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"',
      'schema.enum spec.ingress[0].tls.maxProtocolVersion: Unsupported value: "TLSV1_4": supported values: "TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"',
      'schema.enum spec.ingress[0].tls.mode: Unsupported value: "STRICT": supported values: "PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"',
    ]);
  });
});

describe('numeric bounds (schema.range)', () => {
  it('accepts the uint32 bounds of port numbers and refuses values outside', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.port.number', 4294967295))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.port.number', 0))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.ingress.0.port.number', 4294967296))), [
      'schema.range spec.ingress[0].port.number: Invalid value: 4294967296: spec.ingress[0].port.number in body should be less than or equal to 4294967295',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.egress.0.port.targetPort', -1))), [
      'schema.range spec.egress[0].port.targetPort: Invalid value: -1: spec.egress[0].port.targetPort in body should be greater than or equal to 0',
    ]);
  });

  it("leaves format: int32 unchecked, as kube-apiserver does (out-of-range values are for Istio's decoder: rule J1)", () => {
    const path = 'spec.inboundConnectionPool.http.http1MaxPendingRequests';
    for (const value of [2147483647, -2147483648, -1, 2147483648, -2147483649]) {
      assert.deepEqual(lines(check(withValue(validSidecar(), path, value))), [], String(value));
    }
  });

  it('bounds tcpKeepalive.probes as uint32', () => {
    assert.equal(
      check(withValue(validSidecar(), 'spec.ingress.0.connectionPool.tcp.tcpKeepalive.probes', 4294967296))
        .violations[0]?.rule,
      'schema.range',
    );
  });
});

describe('sizes (schema.length)', () => {
  it('limits credentialNames and tlsCertificates to 1..2 items', () => {
    const tls = (value: object) => check(withValue(validSidecar(), 'spec.ingress.0.tls', { mode: 'SIMPLE', ...value }));
    assert.deepEqual(lines(tls({ credentialNames: ['a', 'b'] })), []);
    assert.deepEqual(lines(tls({ credentialNames: ['a', 'b', 'c'] })), [
      'schema.length spec.ingress[0].tls.credentialNames: Too many: 3: must have at most 2 items',
    ]);
    assert.deepEqual(lines(tls({ tlsCertificates: [] })), [
      'schema.length spec.ingress[0].tls.tlsCertificates: Invalid value: 0: spec.ingress[0].tls.tlsCertificates in body should have at least 1 items',
    ]);
  });

  it('limits selector label values to 63 characters', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels.app', 'a'.repeat(63)))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels.app', 'a'.repeat(64)))), [
      'schema.length spec.workloadSelector.labels[app]: Too long: may not be more than 63 bytes',
    ]);
  });

  it('limits the selector to 256 labels', () => {
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, 'v']));
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels', labels(256)))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels', labels(257)))), [
      'schema.length spec.workloadSelector.labels: Too many: 257: must have at most 256 items',
    ]);
  });
});

describe('unknown fields (schema.unknown-field)', () => {
  function withUnknownFields() {
    const sidecar = validSidecar();
    sidecar.extra = true;
    withValue(sidecar, 'spec.foo', 1);
    withValue(sidecar, 'spec.egress.0.foo', 'x');
    withValue(sidecar, 'spec.ingress.0.tls.tlsCertificates', [{ serverCertificate: 'c', privateKey: 'k', bogus: 1 }]);
    withValue(sidecar, 'spec.ingress.0.tls.credentialName', undefined);
    withValue(sidecar, 'metadata.nmae', 'typo');
    return sidecar;
  }

  it('reports every unknown field when asked to, with kubectl paths', () => {
    const result = check(withUnknownFields(), strict);
    assert.deepEqual(lines(result), [
      'schema.unknown-field spec.ingress[0].tls.tlsCertificates[0].bogus: unknown field "spec.ingress[0].tls.tlsCertificates[0].bogus"',
      'schema.unknown-field spec.egress[0].foo: unknown field "spec.egress[0].foo"',
      'schema.unknown-field spec.foo: unknown field "spec.foo"',
      'schema.unknown-field extra: unknown field "extra"',
      'schema.unknown-field metadata.nmae: unknown field "metadata.nmae"',
    ]);
    assert.equal(result.fatal, false);
  });

  it('finds them inside values of the wrong shape, as the API server prunes them (and stops at the first unknown key)', () => {
    const sidecar = withValue(validSidecar(), 'spec.outboundTrafficPolicy.mode', { a: { deeper: 1 }, b: 2 } as never);
    withValue(sidecar, 'spec.egress.0.hosts', [{ c: 1 }, [{ d: 2 }]] as never);
    withValue(sidecar, 'spec.ingress.0.port', [{ e: 3 }] as never);
    assert.deepEqual(
      lines(check(sidecar)).filter((l) => l.startsWith('schema.unknown-field')),
      [
        'schema.unknown-field spec.ingress[0].port[0].e: unknown field "spec.ingress[0].port[0].e"',
        'schema.unknown-field spec.egress[0].hosts[0].c: unknown field "spec.egress[0].hosts[0].c"',
        'schema.unknown-field spec.egress[0].hosts[1][0].d: unknown field "spec.egress[0].hosts[1][0].d"',
        'schema.unknown-field spec.outboundTrafficPolicy.mode.a: unknown field "spec.outboundTrafficPolicy.mode.a"',
        'schema.unknown-field spec.outboundTrafficPolicy.mode.b: unknown field "spec.outboundTrafficPolicy.mode.b"',
      ],
    );
  });

  it('quotes the path as the API server does: as it is, unescaped', () => {
    const sidecar = withValue(validSidecar(), 'spec.w"eird\\key\u0001', 1);
    assert.deepEqual(lines(check(sidecar)), [
      'schema.unknown-field spec.w"eird\\key\u0001: unknown field "spec.w"eird\\key\u0001"',
    ]);
  });

  it('survives list nesting far deeper than the schema without recursion', () => {
    let deep: unknown = [{ x: 1 }];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const result = check(withValue(validSidecar(), 'spec.egress.0.hosts', [deep] as never));
    assert.ok(lines(result).some((l) => l.endsWith('.x"')));
  });

  it('ignores them otherwise (the API server prunes them)', () => {
    assert.deepEqual(check(withUnknownFields(), lenient), { violations: [], fatal: false });
  });

  it('lets status keep unknown fields at its top level but not inside its typed lists', () => {
    const sidecar = validSidecar();
    sidecar.status = {
      anything: { goes: 1 },
      conditions: [{ type: 'Ready', status: 'True', extra: 1 }],
      observedGeneration: 3,
    };
    assert.deepEqual(lines(check(sidecar, strict)), [
      'schema.unknown-field status.conditions[0].extra: unknown field "status.conditions[0].extra"',
    ]);
  });

  it('does not validate status values, which the API server drops (status subresource)', () => {
    const sidecar = validSidecar();
    sidecar.status = { conditions: [{ type: 7, lastTransitionTime: 'not a time' }], observedGeneration: true };
    assert.deepEqual(check(sidecar, strict), { violations: [], fatal: false });
  });
});

describe('fatal', () => {
  it('is false for findings that do not break the shape', () => {
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.egress.0.captureMode', 'FOO');
    withValue(sidecar, 'spec.ingress.0.port.number', 99999999999);
    withValue(sidecar, 'spec.ingress.0.connectionPool.tcp.connectTimeout', '0s');
    withValue(sidecar, 'metadata.name', 'Not_A_Name');
    const result = check(sidecar);
    assert.equal(result.violations.length, 4);
    assert.equal(result.fatal, false);
  });

  it('is true when the top level is not an object', () => {
    for (const value of [null, undefined, 'Sidecar', 42, [], true]) {
      const result = checkSchema(value, strict);
      assert.equal(result.fatal, true);
      assert.equal(result.violations.length, 1);
      assert.equal(result.violations[0]?.rule, 'schema.type');
      // Not the field hint ("a number, not a quoted string"): there is no field, the whole object is wrong.
      assert.match(result.violations[0]?.hint ?? '', /^Send the Sidecar itself, a JSON object/);
    }
    assert.equal(
      lines(checkSchema([], strict))[0],
      'schema.type : Invalid value: "array": must be of type object: "array"',
    );
  });

  it('is true when a metadata field has the wrong type', () => {
    assert.equal(check(withValue(validSidecar(), 'metadata.name', 5)).fatal, true);
    assert.equal(check(withValue(validSidecar(), 'metadata.annotations', 'x')).fatal, true);
    assert.equal(check(withValue(validSidecar(), 'metadata', 'x')).fatal, true);
  });
});

describe('violations', () => {
  it('are errors with the hint of their rule', () => {
    const sidecar = withValue(validSidecar(), 'spec.egress.0.captureMode', 'FOO');
    withValue(sidecar, 'metadata.name', 'Bad');
    const result = check(sidecar);
    assert.deepEqual(
      result.violations.map((v) => v.rule),
      ['meta.name', 'schema.enum', 'schema.cel'],
    );
    for (const v of result.violations) {
      assert.equal(v.severity, 'error');
      // The API server's note that it skipped the CEL rules has a fix of its own (tested above).
      if (v.message !== CEL_RULES_SKIPPED) assert.equal(v.hint, SCHEMA_RULES[v.rule as keyof typeof SCHEMA_RULES].hint);
    }
  });

  it('have a one-line hint for every rule id', () => {
    assert.deepEqual(Object.keys(SCHEMA_RULES).sort(), [
      'meta.annotations',
      'meta.labels',
      'meta.name',
      'meta.namespace',
      'object.kind',
      'object.size',
      'schema.cel',
      'schema.enum',
      'schema.length',
      'schema.partial',
      'schema.range',
      'schema.required',
      'schema.type',
      'schema.unknown-field',
    ]);
    for (const { hint } of Object.values(SCHEMA_RULES)) {
      assert.ok(hint.length > 10 && !hint.includes('\n'));
    }
  });

  it('do not depend on the apiVersion (all versions share one schema)', () => {
    const broken = (version: string) => {
      const sidecar = withValue(validSidecar(), 'apiVersion', `networking.istio.io/${version}`);
      withValue(sidecar, 'spec.egress.0.hosts', undefined);
      return lines(check(sidecar));
    };
    assert.deepEqual(broken('v1beta1'), broken('v1'));
    assert.deepEqual(broken('v1alpha3'), ['schema.required spec.egress[0].hosts: Required value']);
  });
});
