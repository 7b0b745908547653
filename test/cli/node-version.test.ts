// The bin refuses a Node.js older than package.json's engines, and a checkout
// that can run nothing (no dist/, no tsx), with one line and exit 2, instead
// of starting and failing with a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MINIMUM_NODE_MAJOR, nodeVersionProblem } from '../../bin/node-version.js';
import { BIN, ROOT } from '../helpers/cli.js';

describe('the Node.js version the bin accepts', () => {
  test('package.json engines and the bin agree on the minimum', () => {
    const engines = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).engines.node as string;
    assert.equal(engines, `>=${MINIMUM_NODE_MAJOR}`);
  });

  test('older majors are refused with what to do; the minimum and later pass', () => {
    assert.match(
      nodeVersionProblem('20.20.2', '/nonexistent/bin')!,
      /needs Node.js 22 or later, and this is v20.20.2: install a newer one, or use `make run`/,
    );
    assert.ok(nodeVersionProblem('18.0.0'));
    assert.equal(nodeVersionProblem('22.0.0'), undefined);
    assert.equal(nodeVersionProblem('24.21.0'), undefined);
  });

  test('once `make run` has installed its Node.js, the line says how to put it on PATH', () => {
    const tools = mkdtempSync(join(tmpdir(), 'sg-tools-'));
    try {
      writeFileSync(join(tools, 'node'), '');
      assert.equal(
        nodeVersionProblem('20.20.2', tools),
        `sidecar-guard needs Node.js 22 or later, and this is v20.20.2: use the one \`make run\` installed: export PATH=${tools}:$PATH`,
      );
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  });

  // Debian's node on these machines is 20; where an older node is installed, the bin is run with it.
  const old = '/usr/bin/node';
  const oldVersion = existsSync(old) ? spawnSync(old, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  const isOld = /^v\d+/.test(oldVersion) && Number.parseInt(oldVersion.slice(1), 10) < MINIMUM_NODE_MAJOR;
  test(`run with ${old} (${oldVersion || 'absent'}): one line, exit 2`, {
    skip: !isOld && `${old} is not older than ${MINIMUM_NODE_MAJOR}`,
  }, () => {
    const run = spawnSync(old, [BIN, 'check', 'examples/sidecars.yaml'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`this is ${oldVersion}`));
  });
});

describe('a checkout with neither dist/ nor its dev dependencies', () => {
  test('one line saying to run npm ci, exit 2, no stack trace', () => {
    // What `npm install <git URL>` leaves (npm skips the prepare build there): the bin and package.json, no dist/.
    const dir = mkdtempSync(join(tmpdir(), 'sg-bare-'));
    try {
      cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      const run = spawnSync(process.execPath, [join(dir, 'bin/sidecar-guard.js'), '--version'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(run.status, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /^sidecar-guard: dist\/ is missing and tsx is not installed .*run "npm ci"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
