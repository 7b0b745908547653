// The bin refuses a Node.js older than package.json's engines with one line
// and exit 2, instead of starting and failing later with a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MINIMUM_NODE_MAJOR, nodeVersionProblem } from '../../bin/node-version.js';
import { BIN, ROOT } from '../helpers/cli.js';

describe('the Node.js version the bin accepts', () => {
  test('package.json engines and the bin agree on the minimum', () => {
    const engines = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).engines.node as string;
    assert.equal(engines, `>=${MINIMUM_NODE_MAJOR}`);
  });

  test('older majors are refused with what to do; the minimum and later pass', () => {
    assert.match(nodeVersionProblem('20.20.2')!, /needs Node.js 22 or later, and this is v20.20.2: .*make run/);
    assert.ok(nodeVersionProblem('18.0.0'));
    assert.equal(nodeVersionProblem('22.0.0'), undefined);
    assert.equal(nodeVersionProblem('24.21.0'), undefined);
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
