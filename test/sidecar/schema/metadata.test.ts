import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  isDnsLabelName,
  isDnsSubdomainName,
  isLabelValue,
  isQualifiedName,
  labelValueErrors,
  qualifiedNameErrors,
} from '../../../src/sidecar/schema/metadata.js';
import { random } from '../../helpers/random.js';
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

describe('label and annotation keys and values at the edges (meta.labels, meta.annotations)', () => {
  const NAME_PART = `name part ${QUALIFIED_NAME_MESSAGE}`;
  const PREFIX = `prefix part ${SUBDOMAIN_MESSAGE}`;
  const THREE_PARTS = `a qualified name ${QUALIFIED_NAME_MESSAGE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`;
  const KELVIN_SIGN = '\u212a'; // lowercases to an ASCII 'k', in Go as in JavaScript
  const invalid = (rule: string, map: string, key: string, value: string, messages: readonly string[]) =>
    messages.map((m) => `${rule} metadata.${map}[${key}]: Invalid value: ${JSON.stringify(value)}: ${m}`);

  const labelKeys: readonly (readonly [string, readonly string[]])[] = [
    ['', ['name part must be non-empty', NAME_PART]],
    ['/', ['prefix part must be non-empty', 'name part must be non-empty', NAME_PART]],
    ['/app', ['prefix part must be non-empty']],
    ['app/', ['name part must be non-empty', NAME_PART]],
    ['a/b/c', [THREE_PARTS]],
    ['//', [THREE_PARTS]],
    ['a'.repeat(63), []],
    ['a'.repeat(64), ['name part must be no more than 63 characters']],
    [`${'a'.repeat(253)}/x`, []],
    [`${'a'.repeat(254)}/x`, ['prefix part must be no more than 253 characters']],
    [`example.com/${'x'.repeat(63)}`, []],
    [`example.com/${'x'.repeat(64)}`, ['name part must be no more than 63 characters']],
    ['App', []],
    ['a_b', []],
    ['a.b-c_d', []],
    ['Example.com/app', [PREFIX]],
    ['ex_ample.com/x', [PREFIX]],
    ['a..b/x', [PREFIX]],
    ['a./x', [PREFIX]],
    ['-a/x', [PREFIX]],
    ['-a', [NAME_PART]],
    ['a-', [NAME_PART]],
    ['.a', [NAME_PART]],
    ['ä', [NAME_PART]],
    ['é'.repeat(32), ['name part must be no more than 63 characters', NAME_PART]],
    [`${KELVIN_SIGN}8s.io/x`, [PREFIX]],
    ['__proto__', [NAME_PART]],
    ['example.com/__proto__', [NAME_PART]],
  ];

  it('label keys: empty, several slashes, 63 and 253 characters, case, non-ASCII, __proto__', () => {
    for (const [key, messages] of labelKeys) {
      const sidecar = withValue(validSidecar(), 'metadata.labels', { [key]: 'x' });
      assert.deepEqual(lines(check(sidecar)), invalid('meta.labels', 'labels', key, key, messages), key);
    }
  });

  it('label values: empty or null, 63 characters or UTF-8 bytes, non-ASCII, __proto__', () => {
    const cases: readonly (readonly [string | null, readonly string[]])[] = [
      ['', []],
      [null, []],
      ['v'.repeat(63), []],
      ['v'.repeat(64), ['must be no more than 63 characters']],
      ['é'.repeat(32), ['must be no more than 63 characters', LABEL_VALUE_MESSAGE]],
      [`${'é'.repeat(31)}e`, [LABEL_VALUE_MESSAGE]],
      ['A_b.c-1', []],
      ['_a', [LABEL_VALUE_MESSAGE]],
      ['a b', [LABEL_VALUE_MESSAGE]],
      ['__proto__', [LABEL_VALUE_MESSAGE]],
    ];
    for (const [value, messages] of cases) {
      const sidecar = withValue(validSidecar(), 'metadata.labels', { app: value });
      assert.deepEqual(
        lines(check(sidecar)),
        invalid('meta.labels', 'labels', 'app', value ?? '', messages),
        value ?? 'null',
      );
    }
  });

  it('annotation keys: the label-key rule with case ignored, as Go lowercases', () => {
    const cases: readonly (readonly [string, readonly string[]])[] = [
      ['Example.COM/Owner', []],
      [`EXAMPLE.com/${'X'.repeat(63)}`, []],
      [`EXAMPLE.com/${'X'.repeat(64)}`, ['name part must be no more than 63 characters']],
      ['A_B', []],
      [`${KELVIN_SIGN}8s.io/x`, []],
      ['İ/x', [PREFIX]],
      ['', ['name part must be non-empty', NAME_PART]],
      ['a/b/c', [THREE_PARTS]],
      ['/x', ['prefix part must be non-empty']],
      ['__proto__', [NAME_PART]],
      ['ä', [NAME_PART]],
    ];
    for (const [key, messages] of cases) {
      const sidecar = withValue(validSidecar(), 'metadata.annotations', { [key]: 'x' });
      assert.deepEqual(lines(check(sidecar)), invalid('meta.annotations', 'annotations', key, key, messages), key);
    }
  });

  it('checks a "__proto__" key of parsed JSON like any other, and every key after it', () => {
    const sidecar = JSON.parse(
      '{"apiVersion":"networking.istio.io/v1","kind":"Sidecar","metadata":{"name":"a","labels":{"__proto__":"x","-app":"y"},"annotations":{"__proto__":"x"}}}',
    ) as unknown;
    assert.deepEqual(lines(check(sidecar)), [
      ...invalid('meta.labels', 'labels', '__proto__', '__proto__', [NAME_PART]),
      ...invalid('meta.labels', 'labels', '-app', '-app', [NAME_PART]),
      ...invalid('meta.annotations', 'annotations', '__proto__', '__proto__', [NAME_PART]),
    ]);
  });

  it('limits annotations to 256 KiB of UTF-8 for characters of 2, 3 and 4 bytes and lone surrogates', () => {
    const key = 'example.com/blob'; // 16 bytes
    const room = 262144 - key.length;
    const TOO_LONG = ['meta.annotations metadata.annotations: Too long: may not be more than 262144 bytes'];
    for (const [unit, bytes] of [
      ['é', 2],
      ['€', 3],
      ['😀', 4],
      ['\ud800', 3],
    ] as const) {
      const fits = unit.repeat(Math.floor(room / bytes)) + 'a'.repeat(room % bytes);
      const annotations = (value: string) => withValue(validSidecar(), 'metadata.annotations', { [key]: value });
      assert.deepEqual(lines(check(annotations(fits))), [], `${unit} fits`);
      assert.deepEqual(lines(check(annotations(`${fits}a`))), TOO_LONG, `${unit} one byte over`);
    }
    // 262,313 bytes in 104,113 UTF-16 units
    const split = { 'a.io/x': 'é'.repeat(50_000), 'b.io/y': '€'.repeat(54_100), c: null };
    assert.deepEqual(lines(check(withValue(validSidecar(), 'metadata.annotations', split))), TOO_LONG);
  });
});

describe('name checks agree with the regexes and lengths Kubernetes states', () => {
  const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
  const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
  const NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
  // Kubernetes' own formats; a string they match is ASCII, so its length is its UTF-8 length.
  const matchesLabel = (s: string) => s.length <= 63 && new RegExp(`^${LABEL}$`).test(s);
  const matchesSubdomain = (s: string) => s.length <= 253 && new RegExp(`^${SUBDOMAIN}$`).test(s);
  const matchesNamePart = (s: string) => s.length <= 63 && new RegExp(`^${NAME}$`).test(s);
  const matchesQualifiedName = (s: string) => {
    const parts = s.split('/');
    if (parts.length === 1) return matchesNamePart(s);
    return parts.length === 2 && matchesSubdomain(parts[0]!) && matchesNamePart(parts[1]!);
  };
  const matchesLabelValue = (s: string) => s === '' || matchesNamePart(s);

  /** Strings of the characters that matter, at lengths around the limits. */
  function* strings(seed: number, count: number): Generator<string> {
    const r = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
    const others = ['Q', '_', '/', ' ', 'é', '\u212a', '😀', '\ud800'];
    const lengths = [0, 1, 2, 3, 5, 8, 62, 63, 64, 65, 252, 253, 254, 255];
    // Mostly lowercase letters and digits, so that long strings are valid often enough to test the limits.
    const part = (length: number): string => {
      const dots = pick([0, 0, 0.05]);
      const dashes = pick([0, 0.05]);
      const wild = pick([0, 0.01, 0.3]);
      let s = '';
      while (s.length < length) {
        const x = r();
        s += x < dots ? '.' : x < dots + dashes ? '-' : x < dots + dashes + wild ? pick(others) : pick(['a', 'z', '0']);
      }
      return s;
    };
    for (let i = 0; i < count; i++)
      yield r() < 0.3 ? `${part(pick(lengths))}/${part(pick(lengths))}` : part(pick(lengths));
  }

  it('reports nothing exactly for the strings the formats accept, and the fast predicates agree', () => {
    const checks = [
      ['label', dns1123LabelErrors, isDnsLabelName, matchesLabel],
      ['subdomain', dns1123SubdomainErrors, isDnsSubdomainName, matchesSubdomain],
      ['qualified name', qualifiedNameErrors, isQualifiedName, matchesQualifiedName],
      ['label value', labelValueErrors, isLabelValue, matchesLabelValue],
    ] as const;
    for (const s of strings(7, 20_000)) {
      for (const [what, errors, isValid, matches] of checks) {
        const valid = matches(s);
        assert.equal(errors(s).length === 0, valid, `${what} ${JSON.stringify(s)}`);
        assert.equal(isValid(s), valid, `${what} predicate ${JSON.stringify(s)}`);
      }
    }
  });
});
