// .pre-commit-hooks.yaml through the real pre-commit (PyPI, pinned in
// scripts/ensure-pre-commit.sh): `pre-commit try-repo <this repo>
// sidecar-guard-check --files examples/sidecars.yaml` in a fresh git
// repository, as a user would try the hook. try-repo clones this repository
// and the hook installs sidecar-guard into that clone (npm ci), about 40 s:
// so this file is not a *.test.ts of the unit suite but runs from
// `make pre-commit-test` (part of `make test`). The wait is on the
// pre-commit process.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/cli.js';

const PRE_COMMIT = join(ROOT, '.tools/pre-commit/bin/pre-commit');

describe('pre-commit try-repo sidecar-guard-check', { timeout: 600_000 }, () => {
  test('fails on the invalid example and prints its findings', () => {
    execFileSync('bash', [join(ROOT, 'scripts/ensure-pre-commit.sh')], { stdio: 'inherit' });
    const repo = mkdtempSync(join(tmpdir(), 'sg-pre-commit-'));
    execFileSync('git', ['init', '-q'], { cwd: repo });
    copyFileSync(join(ROOT, 'examples/sidecars.yaml'), join(repo, 'sidecars.yaml'));
    execFileSync('git', ['add', 'sidecars.yaml'], { cwd: repo });
    const res = spawnSync(PRE_COMMIT, ['try-repo', ROOT, 'sidecar-guard-check', '--files', 'sidecars.yaml'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, PRE_COMMIT_HOME: join(ROOT, '.tools/pre-commit-home') },
    });
    const out = `${res.stdout}${res.stderr}`;
    assert.equal(res.status, 1, out);
    assert.match(out, /sidecar-guard check \(Istio Sidecar manifests\)\.+Failed/);
    assert.match(out, /- hook id: sidecar-guard-check\n- exit code: 1/);
    assert.match(
      out,
      /^sidecars\.yaml:21:5: error: shop\/payments: spec\.ingress\[0\]\.bind: unix:\/\/\/var\/run\/payments\.sock is not a valid IP \[I7\]$/m,
    );
    assert.match(out, /^sidecars\.yaml:23:5: error: .* \[E2\]$/m);
    assert.match(
      out,
      /^sidecars\.yaml:25:13: error: shop\/payments: spec\.egress\[1\]\.hosts\[0\]: short names \(non FQDN\) are not allowed \[H4\]$/m,
    );
    assert.match(out, /^1 file, 2 Sidecars: 1 allowed, 1 rejected, 0 other documents skipped$/m);
  });
});
