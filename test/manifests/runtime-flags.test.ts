// The benchmark measures the webhook with the V8 flags the image runs it with.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PRODUCTION_NODE_FLAGS } from '../../bench/child.js';

test("the Dockerfile's ENTRYPOINT passes node exactly the benchmark's production flags", () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entrypoint, 'an exec-form ENTRYPOINT');
  const argv = JSON.parse(entrypoint[1]!) as string[];
  assert.equal(argv[0], '/nodejs/bin/node');
  assert.equal(argv.at(-1), '/app/dist/cli.js');
  assert.deepEqual(argv.slice(1, -1), [...PRODUCTION_NODE_FLAGS]);
});
