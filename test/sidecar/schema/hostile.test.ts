import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkSchema, SCHEMA_RULES, type SchemaResult } from '../../../src/sidecar/schema/index.js';
import { check, lenient, lines, strict, validSidecar, withValue } from './helpers.js';

function deeplyNested(depth: number, wrap: (inner: unknown) => unknown): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
}

function assertWellFormed(result: SchemaResult): void {
  assert.equal(typeof result.fatal, 'boolean');
  for (const v of result.violations) {
    assert.ok(Object.hasOwn(SCHEMA_RULES, v.rule), v.rule);
    assert.equal(v.severity, 'error');
    assert.equal(typeof v.path, 'string');
    assert.equal(typeof v.message, 'string');
    assert.ok(v.message.length < 20_000, 'messages stay bounded');
    assert.ok(!v.message.startsWith('Internal error'), v.message);
  }
}

describe('hostile input', () => {
  it('survives deep nesting anywhere, without looking inside', () => {
    const deepArray = deeplyNested(100_000, (inner) => [inner]);
    const deepObject = deeplyNested(100_000, (inner) => ({ a: inner }));
    const sidecar = validSidecar();
    withValue(sidecar, 'spec.egress.0.hosts', [deepArray as never]);
    withValue(sidecar, 'spec.egress.0.captureMode', deepObject as never);
    withValue(sidecar, 'spec.foo', deepObject as never);
    withValue(sidecar, 'metadata.labels', { app: deepArray as never });
    sidecar.status = deepObject as never;
    for (const options of [strict, lenient]) {
      const result = check(sidecar, options);
      assertWellFormed(result);
      assert.equal(result.fatal, true);
    }
    // A spec of more than FULL_SCHEMA_CHECK_VALUES values that fails gets its first error only.
    assert.equal(lines(check(sidecar)).filter((l) => l.startsWith('schema.partial spec:')).length, 1);
    // Below that, every error is listed, and a deep value is shown shallowly.
    const smaller = withValue(
      validSidecar(),
      'spec.egress.0.captureMode',
      deeplyNested(5_000, (inner) => ({ a: inner })) as never,
    );
    assert.deepEqual(
      lines(check(smaller)).filter((l) => l.startsWith('schema.enum')),
      [
        'schema.enum spec.egress[0].captureMode: Unsupported value: {"a":{"a":{"a":{"a":{...}}}}}: supported values: "DEFAULT", "IPTABLES", "NONE"',
      ],
    );
  });

  it('keeps messages short for huge strings', () => {
    const huge = 'X'.repeat(3_000_000);
    const sidecar = withValue(validSidecar(), 'metadata.name', huge);
    withValue(sidecar, 'metadata.labels', { [huge]: huge });
    withValue(sidecar, 'spec.workloadSelector.labels.app', `${huge}*`);
    withValue(sidecar, 'spec.egress.0.captureMode', huge);
    const result = check(sidecar);
    assertWellFormed(result);
    assert.deepEqual(
      result.violations.map((v) => `${v.rule} ${v.path.length > 40 ? '<long>' : v.path}`),
      [
        'meta.name metadata.name',
        'meta.name metadata.name',
        'meta.labels <long>',
        'meta.labels <long>',
        'schema.enum spec.egress[0].captureMode',
        'schema.length spec.workloadSelector.labels[app]',
        // too long and an enum error block the CEL rules: the API server's note instead of their findings
        'schema.cel ',
      ],
    );
  });

  it('treats __proto__ and constructor as ordinary keys and pollutes nothing', () => {
    const parsed = JSON.parse(`{
      "apiVersion": "networking.istio.io/v1", "kind": "Sidecar",
      "metadata": {"name": "x", "__proto__": {"polluted": true}, "labels": {"__proto__": "bad value!"}},
      "spec": {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}},
               "workloadSelector": {"labels": {"__proto__": "*", "constructor": "ok"}},
               "egress": [{"hosts": ["a/b"], "__proto__": {"hosts": 5}}]},
      "__proto__": {"polluted": true}
    }`) as unknown;
    const result = checkSchema(parsed, strict);
    assertWellFormed(result);
    assert.deepEqual(lines(result), [
      'schema.unknown-field spec.__proto__: unknown field "spec.__proto__"',
      'schema.unknown-field spec.constructor: unknown field "spec.constructor"',
      'schema.unknown-field spec.egress[0].__proto__: unknown field "spec.egress[0].__proto__"',
      'schema.unknown-field __proto__: unknown field "__proto__"',
      'schema.unknown-field metadata.__proto__: unknown field "metadata.__proto__"',
      `meta.labels metadata.labels[__proto__]: Invalid value: "__proto__": name part ${"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"}`,
      `meta.labels metadata.labels[__proto__]: Invalid value: "bad value!": ${"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"}`,
      'schema.cel spec.workloadSelector.labels[__proto__]: Invalid value: "*": wildcard is not supported in selector',
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  });

  it('accepts objects without a prototype', () => {
    const sidecar = Object.assign(Object.create(null) as Record<string, unknown>, validSidecar());
    sidecar.spec = Object.assign(Object.create(null) as object, { egress: [{ hosts: ['a/b'] }] });
    assert.deepEqual(lines(checkSchema(sidecar, strict)), []);
  });

  it('never throws, whatever the value, and reports only catalogued rules', () => {
    const anyJson = fc.jsonValue({ maxDepth: 6 });
    const anything = fc.anything({
      maxDepth: 4,
      withNullPrototype: true,
      withObjectString: true,
      withBigInt: true,
      withMap: true,
      withDate: true,
    });
    const placements = fc.constantFrom(
      '',
      'spec',
      'spec.egress',
      'spec.egress.0',
      'spec.egress.0.port',
      'spec.ingress.0.tls',
      'spec.ingress.0.connectionPool.tcp',
      'spec.workloadSelector.labels',
      'spec.outboundTrafficPolicy',
      'metadata',
      'metadata.labels',
      'metadata.name',
      'status',
      'kind',
    );
    fc.assert(
      fc.property(placements, fc.oneof(anyJson, anything), fc.boolean(), (placement, value, rejectUnknownFields) => {
        const object = placement === '' ? value : withValue(validSidecar(), placement, value as never);
        const result = checkSchema(object, { rejectUnknownFields });
        assertWellFormed(result);
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic and does not modify its input', () => {
    const sidecar = withValue(validSidecar(), 'spec.egress.0.captureMode', 'FOO');
    withValue(sidecar, 'spec.ingress.0.port', null);
    const before = JSON.stringify(sidecar);
    const first = checkSchema(sidecar, strict);
    assert.deepEqual(checkSchema(sidecar, strict), first);
    assert.equal(JSON.stringify(sidecar), before);
  });
});
