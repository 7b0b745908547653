import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, lenient, lines, validSidecar, withValue } from './helpers.js';

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MESSAGE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('metadata.name (meta.name)', () => {
  it('requires a name or a generateName', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', undefined))), [
      'meta.name metadata.name: Required value: name or generateName is required',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', ''))), [
      'meta.name metadata.name: Required value: name or generateName is required',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata', undefined))), [
      'meta.name metadata.name: Required value: name or generateName is required',
    ]);
    const generated = withValue(validSidecar(), 'metadata.name', undefined);
    assert.deepEqual(lines(check(withValue(generated, 'metadata.generateName', 'ratings-'))), []);
  });

  it('must be a lowercase DNS-1123 subdomain', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', 'Foo'))), [
      `meta.name metadata.name: Invalid value: "Foo": ${SUBDOMAIN_MESSAGE}`,
    ]);
    for (const ok of ['a', 'ratings.prod', 'a-b.c-d', '0']) {
      assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', ok))), [], ok);
    }
    for (const bad of ['-a', 'a-', 'a..b', '.a', 'a_b', 'ä', 'a.']) {
      assert.equal(check(withValue(validSidecar(), 'metadata.name', bad)).violations[0]?.rule, 'meta.name', bad);
    }
  });

  it('is at most 253 characters', () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(longest.length, 253);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', longest))), []);
    const tooLong = `${longest}e`;
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', tooLong))), [
      `meta.name metadata.name: Invalid value: ${JSON.stringify(tooLong)}: must be no more than 253 characters`,
    ]);
  });

  it('checks generateName as a prefix', () => {
    const sidecar = withValue(validSidecar(), 'metadata.generateName', 'Ratings-');
    assert.deepEqual(lines(check(sidecar)), [
      `meta.name metadata.generateName: Invalid value: "Ratings-": ${SUBDOMAIN_MESSAGE}`,
    ]);
  });
});

describe('metadata.namespace (meta.namespace)', () => {
  it('may be absent (kubectl fills it in)', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.namespace', undefined))), []);
  });

  it('must be a DNS-1123 label when present', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.namespace', 'Prod'))), [
      `meta.namespace metadata.namespace: Invalid value: "Prod": ${LABEL_MESSAGE}`,
    ]);
    assert.equal(check(withValue(validSidecar(), 'metadata.namespace', 'a.b')).violations[0]?.rule, 'meta.namespace');
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.namespace', 'a'.repeat(63)))), []);
    assert.deepEqual(
      lines(check(withValue(validSidecar(), 'metadata.namespace', 'a'.repeat(64))))[0],
      `meta.namespace metadata.namespace: Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`,
    );
  });
});

describe('metadata.labels (meta.labels)', () => {
  it('accepts qualified keys and valid values, including empty values', () => {
    const labels = { app: 'x', 'istio.io/rev': 'canary', 'example.com/Team_Name': '', 'a.b': 'A.b_c-1' };
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.labels', labels))), []);
  });

  it('reports bad keys and values at the label', () => {
    const sidecar = withValue(validSidecar(), 'metadata.labels', { '-app': 'ok', tier: 'front end', 'a/b/c': 'x' });
    assert.deepEqual(lines(check(sidecar)), [
      `meta.labels metadata.labels[-app]: Invalid value: "-app": name part ${QUALIFIED_NAME_MESSAGE}`,
      `meta.labels metadata.labels[tier]: Invalid value: "front end": ${LABEL_VALUE_MESSAGE}`,
      `meta.labels metadata.labels[a/b/c]: Invalid value: "a/b/c": a qualified name ${QUALIFIED_NAME_MESSAGE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ]);
  });

  it('checks the prefix of a key', () => {
    const sidecar = withValue(validSidecar(), 'metadata.labels', { '/app': 'x', 'Example.com/app': 'y' });
    assert.deepEqual(lines(check(sidecar)), [
      'meta.labels metadata.labels[/app]: Invalid value: "/app": prefix part must be non-empty',
      `meta.labels metadata.labels[Example.com/app]: Invalid value: "Example.com/app": prefix part ${SUBDOMAIN_MESSAGE}`,
    ]);
  });

  it('limits values to 63 characters and name parts to 63', () => {
    const sidecar = withValue(validSidecar(), 'metadata.labels', { app: 'v'.repeat(64), ['k'.repeat(64)]: 'x' });
    assert.deepEqual(lines(check(sidecar)), [
      `meta.labels metadata.labels[app]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`,
      `meta.labels metadata.labels[${'k'.repeat(64)}]: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`,
    ]);
  });

  it('reports a non-string value as a type error', () => {
    const result = check(withValue(validSidecar(), 'metadata.labels', { app: 5 }));
    assert.deepEqual(lines(result), [
      'schema.type metadata.labels[app]: Invalid value: "integer": metadata.labels[app] in body must be of type string: "integer"',
    ]);
    assert.equal(result.fatal, true);
  });
});

describe('metadata.annotations (meta.annotations)', () => {
  it('checks keys like label keys, ignoring case', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.annotations', { 'Example.COM/Owner': 'x' }))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.annotations', { 'bad key': 'x' }))), [
      `meta.annotations metadata.annotations[bad key]: Invalid value: "bad key": name part ${QUALIFIED_NAME_MESSAGE}`,
    ]);
  });

  it('limits the total size to 256 KiB', () => {
    const value = (n: number) => ({ 'example.com/blob': 'x'.repeat(n - 'example.com/blob'.length) });
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.annotations', value(262144)))), []);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.annotations', value(262145)))), [
      'meta.annotations metadata.annotations: Too long: may not be more than 262144 bytes',
    ]);
  });

  it('counts bytes, not characters', () => {
    const key = 'example.com/blob';
    const almost = { [key]: 'é'.repeat((262144 - key.length) / 2) };
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.annotations', almost))), []);
    const over = { [key]: `${almost[key]}é` };
    assert.equal(
      check(withValue(validSidecar(), 'metadata.annotations', over)).violations[0]?.rule,
      'meta.annotations',
    );
  });
});

describe('metadata unknown fields and types', () => {
  it('accepts every ObjectMeta field', () => {
    const sidecar = validSidecar();
    Object.assign(sidecar.metadata as object, {
      uid: 'u',
      resourceVersion: '1',
      generation: 2,
      creationTimestamp: null,
      finalizers: ['x'],
      ownerReferences: [],
      managedFields: [],
      selfLink: '',
      deletionTimestamp: null,
      deletionGracePeriodSeconds: 30,
    });
    assert.deepEqual(lines(check(sidecar)), []);
  });

  it('reports unknown metadata fields only when rejecting unknown fields', () => {
    const sidecar = withValue(validSidecar(), 'metadata.label', { app: 'x' });
    assert.deepEqual(lines(check(sidecar)), ['schema.unknown-field metadata.label: unknown field "metadata.label"']);
    assert.deepEqual(lines(check(sidecar, lenient)), []);
  });

  it('reports a non-string name and a non-object metadata as fatal type errors', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.name', 5))), [
      'schema.type metadata.name: Invalid value: "integer": metadata.name in body must be of type string: "integer"',
    ]);
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata', ['x']))), [
      'schema.type metadata: Invalid value: "array": metadata in body must be of type object: "array"',
    ]);
  });
});
