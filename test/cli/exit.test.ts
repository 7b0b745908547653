// How the installed command ends: output it could not write is a failure
// (exit 2, one line), and a command that has printed its answer exits then,
// whatever connection is still open.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN, ROOT } from '../helpers/cli.js';

/** The command with stdout on `stdoutFd` (stderr collected); its exit code and stderr. */
async function run(args: string[], stdoutFd: number | 'pipe'): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', stdoutFd, 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  child.stdout?.resume();
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

describe('output that cannot be written is not a success', () => {
  for (const args of [['rules'], ['explain', 'H4'], ['generate', '-n', 'shop']]) {
    test(`${args.join(' ')} > /dev/full: exit 2, one line naming the error`, async () => {
      const full = openSync('/dev/full', 'w');
      try {
        const { code, stderr } = await run(args, full);
        assert.equal(code, 2);
        assert.equal(stderr, 'sidecar-guard: cannot write the output: ENOSPC\n');
      } finally {
        closeSync(full);
      }
    });
  }
});

test('audit exits once it has printed its error, while a TLS handshake with the API server still hangs', {
  timeout: 60_000,
}, async () => {
  // Accepts connections and never answers: the client's connect timeout (10 s) ends the list; before, the
  // process then waited about 100 s more for the handshake that never ends.
  const held: Socket[] = [];
  const server = createServer((socket) => void held.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const dir = mkdtempSync(join(tmpdir(), 'sg-exit-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
  );
  try {
    const { code, stderr } = await run(['audit', '--kubeconfig', kubeconfig], 'pipe');
    assert.equal(code, 2);
    assert.match(stderr, /^sidecar-guard: cannot list the cluster at https:\/\/127\.0\.0\.1:\d+: .*Connect Timeout/);
    assert.equal(stderr.split('\n').length, 2, 'one line');
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});
