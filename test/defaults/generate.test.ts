import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, parseDependencies, parseTemplate } from '../../src/defaults/config.js';
import { DEFAULT_TEMPLATE, generateDefault, type DefaultsConfig } from '../../src/defaults/generate.js';
import { validateObject } from '../../src/sidecar/validate.js';

const base = (extra: Partial<DefaultsConfig> = {}): DefaultsConfig => ({
  rootNamespace: 'istio-system',
  template: { ...DEFAULT_TEMPLATE },
  ...extra,
});

const deps = parseDependencies(`
services:
  frontend/web-app:
    calls:
      - backend/api-service
      - auth/auth-service
      - frontend/cart
    external:
      - analytics.google.com
  frontend/cart:
    calls: [backend/*, backend/api-service, auth/auth-service]
  backend/api-service:
    calls: [database/postgres, cache/redis]
    external: []
`);

describe('generateDefault', () => {
  test('default template: ./* and the root namespace, labelled and annotated as ours', () => {
    const s = generateDefault('shop', base());
    assert.deepEqual(s.spec, { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
    assert.equal(s.metadata.name, 'default');
    assert.equal(s.metadata.namespace, 'shop');
    assert.deepEqual(s.metadata.labels, { 'app.kubernetes.io/managed-by': 'sidecar-guard' });
    assert.match(s.metadata.annotations['sidecar-guard.io/template-hash']!, /^[0-9a-f]{16}$/);
    assert.equal(s.spec.outboundTrafficPolicy, undefined);
  });

  test('the dependency map folds in calls and externals, de-duplicated, covered hosts dropped, sorted', () => {
    const s = generateDefault('frontend', base({ dependencies: deps }));
    assert.deepEqual(s.spec.egress[0]!.hosts, [
      '*/analytics.google.com',
      './*',
      'auth/auth-service.auth.svc.cluster.local',
      'backend/*',
      'istio-system/*',
    ]);
  });

  test("other namespaces only get their own services' dependencies", () => {
    assert.deepEqual(generateDefault('backend', base({ dependencies: deps })).spec.egress[0]!.hosts, [
      './*',
      'cache/redis.cache.svc.cluster.local',
      'database/postgres.database.svc.cluster.local',
      'istio-system/*',
    ]);
    assert.deepEqual(generateDefault('auth', base({ dependencies: deps })).spec.egress[0]!.hosts, [
      './*',
      'istio-system/*',
    ]);
  });

  test('template options: REGISTRY_ONLY, custom hosts with {root}, cluster domain, name', () => {
    const template = parseTemplate(
      'name: scoped\negressHosts: ["./*", "{root}/*", "shared/*"]\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}\nclusterDomain: corp.local\n',
    );
    const s = generateDefault('x', {
      rootNamespace: 'mesh',
      template,
      dependencies: parseDependencies('services:\n  x/a:\n    calls: [y/b]\n'),
    });
    assert.equal(s.metadata.name, 'scoped');
    assert.deepEqual(s.spec, {
      egress: [{ hosts: ['./*', 'mesh/*', 'shared/*', 'y/b.y.svc.corp.local'] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    });
  });

  test('output is stable: same inputs, same bytes and hash; a template change changes the hash', () => {
    const a = JSON.stringify(generateDefault('frontend', base({ dependencies: deps })));
    assert.equal(JSON.stringify(generateDefault('frontend', base({ dependencies: deps }))), a);
    const other = generateDefault(
      'frontend',
      base({ dependencies: deps, template: { ...DEFAULT_TEMPLATE, outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } } }),
    );
    assert.notEqual(
      other.metadata.annotations['sidecar-guard.io/template-hash'],
      JSON.parse(a).metadata.annotations['sidecar-guard.io/template-hash'],
    );
  });

  test('the generated object always passes our own validation, without warnings (property)', () => {
    const label = fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/);
    const service = fc.tuple(label, label).map(([ns, svc]) => `${ns}/${svc}`);
    const host = fc.tuple(label, label).map(([a, b]) => `${a}.${b}.com`);
    const depMap = fc.dictionary(
      service,
      fc.record({
        calls: fc.array(
          fc.oneof(
            service,
            label.map((ns) => `${ns}/*`),
          ),
          { maxLength: 5 },
        ),
        external: fc.array(host, { maxLength: 3 }),
      }),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(label, label, depMap, fc.boolean(), (namespace, root, services, registryOnly) => {
        const template = {
          ...DEFAULT_TEMPLATE,
          ...(registryOnly ? { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' as const } } : {}),
        };
        const s = generateDefault(namespace, { rootNamespace: root, template, dependencies: { services } });
        const { violations } = validateObject(s, { namespace, name: s.metadata.name }, { rejectUnknownFields: true });
        assert.deepEqual(violations, []);
      }),
      { numRuns: 300 },
    );
  });
});

describe('generator configuration files', () => {
  test('bad files give errors that say what to fix', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseTemplate('name: Not_A_Label'), /name must be a lowercase DNS label/],
      [() => parseTemplate('egressHosts: []'), /must not be empty/],
      [() => parseTemplate('outboundTrafficPolicy: {mode: OPEN}'), /REGISTRY_ONLY or ALLOW_ANY/],
      [() => parseTemplate('egresHosts: ["./*"]'), /unknown key "egresHosts"/],
      [() => parseTemplate('a: [\n'), /not valid YAML/],
      [
        () => parseTemplate(`name: a\negressHosts: ${'['.repeat(10_001)}`),
        /^config: not valid YAML: nesting deeper than 10000 levels at line 2$/,
      ],
      [
        () => parseDependencies(`services:\n  ${'- '.repeat(10_001)}x\n`),
        /^dependencies: not valid YAML: nesting deeper than 10000 levels at line 2$/,
      ],
      [() => parseTemplate(`a: ${'['.repeat(5_000)}`), /^config: not valid YAML: nesting too deep to read$/],
      [() => parseDependencies('other: {}'), /expected "services:"/],
      [() => parseDependencies('services:\n  noslash: {}\n'), /"noslash" must be namespace\/service/],
      [
        () => parseDependencies('services:\n  a/b:\n    calls: [c]\n'),
        /calls\[0\]: "c" must be namespace\/service or namespace\/\*/,
      ],
      [
        () => parseDependencies('services:\n  a/b:\n    external: [localhost]\n'),
        /must be a fully qualified host name/,
      ],
      [() => parseDependencies('services:\n  a/b:\n    calls: x\n'), /must be a list of strings/],
    ];
    for (const [fn, message] of bad)
      assert.throws(fn, (err: Error) => err instanceof ConfigError && message.test(err.message));
  });
});
