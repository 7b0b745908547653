import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFieldPath, parseSource } from '../../src/manifests/documents.js';

const yaml = `# leading comment
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: a
  labels:
    app.kubernetes.io/name: x
spec:
  egress:
  - port:
      number: 80
    hosts:
    - "./*"
  - hosts:
    - bad
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
- apiVersion: networking.istio.io/v1
  kind: Sidecar
  metadata:
    name: b
`;

describe('manifest documents', () => {
  const docs = parseSource({ file: 'f.yaml', text: yaml });

  test('multi-document YAML with empty documents and kind: List expands to objects', () => {
    assert.equal(docs.length, 3);
    assert.ok(docs.every((d) => d.ok));
    assert.deepEqual(
      docs.map((d) => (d.ok ? (d.object as { metadata: { name: string } }).metadata.name : '')),
      ['a', 'p', 'b'],
    );
  });

  test('field paths point at the key that holds the field', () => {
    const a = docs[0]!;
    assert.ok(a.ok);
    assert.deepEqual(a.position, { line: 2, col: 1 });
    assert.deepEqual(a.locate('spec.egress[1].hosts[0]'), { line: 15, col: 7 });
    assert.deepEqual(a.locate('spec.egress[0].port.number'), { line: 11, col: 7 });
    assert.deepEqual(a.locate('metadata.labels[app.kubernetes.io/name]'), { line: 7, col: 5 });
    // a missing field points at its nearest existing parent
    assert.deepEqual(a.locate('spec.egress[0].bind'), { line: 10, col: 5 });
    const b = docs[2]!;
    assert.ok(b.ok);
    assert.deepEqual(b.position, { line: 24, col: 3 });
    assert.deepEqual(b.locate('metadata.name'), { line: 27, col: 5 });
  });

  test('a YAML syntax error is a failure with the parser line, not an exception', () => {
    const [bad] = parseSource({ file: 'g.yaml', text: 'a: 1\nb: [\n' });
    assert.equal(bad!.ok, false);
    assert.ok(!bad!.ok && bad!.position.line >= 2);
  });

  test('duplicate keys are refused, as kubectl refuses them', () => {
    const [dup] = parseSource({ file: 'd.yaml', text: 'a: 1\na: 2\n' });
    assert.equal(dup!.ok, false);
  });

  test('JSON files parse too', () => {
    const [j] = parseSource({ file: 'x.json', text: '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}' });
    assert.ok(j!.ok);
  });

  test('YAML 1.1 scalars behave as in kubectl (yes is a boolean)', () => {
    const [y] = parseSource({ file: 'y.yaml', text: 'a: yes\nb: "yes"\n' });
    assert.ok(y!.ok);
    assert.deepEqual(y!.ok && y!.object, { a: true, b: 'yes' });
  });

  test('parseFieldPath keeps dotted map keys in brackets together', () => {
    assert.deepEqual(parseFieldPath('spec.egress[1].hosts[0]'), ['spec', 'egress', 1, 'hosts', 0]);
    assert.deepEqual(parseFieldPath('metadata.annotations[istio.io/dry-run]'), [
      'metadata',
      'annotations',
      'istio.io/dry-run',
    ]);
    assert.deepEqual(parseFieldPath(''), []);
  });
});
