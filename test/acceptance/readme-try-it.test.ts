// The README's "Try it locally" transcripts, run as written: every console
// block there that posts an examples/ file with curl is replayed against
// `serve --standalone` started with the same `make run` ARGS (over real
// HTTPS, the CA it generated), and the answer must be the README's line byte
// for byte. A newcomer's first two minutes are these blocks; an example file
// or a message that drifts from them fails here (a --state example without
// istio-system once answered with an extra warning the README did not show).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { serveConfigOf } from '../../src/cli.js';
import { serve, type RunningServer } from '../../src/main.js';
import { ROOT } from '../helpers/cli.js';
import { httpsRequest } from '../reliability/helpers.js';

interface Transcript {
  /** `make run ARGS="..."` of the block, split on spaces ('' when the block has none: plain `make run`). */
  args: string[];
  /** The examples/ file posted with `--data @FILE`. */
  file: string;
  /** What curl printed: the response body. */
  expected: string;
}

/** The console blocks of one README section that post a file to /validate, with what the README says comes back. */
function transcripts(readme: string, heading: string): Transcript[] {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const found: Transcript[] = [];
  for (const [, block] of section.matchAll(/```console\n([\s\S]*?)```/g)) {
    const lines = block!.split('\n');
    const args = /make run ARGS="([^"]*)"/.exec(block!)?.[1]?.split(' ') ?? [];
    for (let i = 0; i < lines.length; i++) {
      const data = /--data @(\S+)/.exec(lines[i]!);
      if (!data) continue;
      const expected = lines.slice(i + 1).find((l) => l.startsWith('{'));
      assert.ok(expected, `no output line after ${lines[i]}`);
      found.push({ args, file: data[1]!, expected });
    }
  }
  return found;
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const TRY_IT = transcripts(README, '## Try it locally');
const servers = new Map<string, Promise<{ server: RunningServer; port: number; caPem: string; dir: string }>>();

/** One server per distinct ARGS, started as `make run` starts it (ports and cert dir of this test's own). */
function serverFor(args: string[]) {
  const key = args.join(' ');
  let started = servers.get(key);
  if (!started) {
    started = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sg-readme-'));
      const argv = ['--standalone', '--listen', '127.0.0.1:0', '--cert-dir', dir, '--metrics-listen', 'off', ...args];
      const server = await serve(serveConfigOf(argv), pino({ level: 'silent' }));
      const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
      return { server, port: Number(new URL(server.url).port), caPem, dir };
    })();
    servers.set(key, started);
  }
  return started;
}

after(async () => {
  for (const started of servers.values()) {
    const { server, dir } = await started;
    await server.shutdown('test');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("README: Try it locally, replayed (serve --standalone as make run starts it, curl's answers)", () => {
  test('the section has its two transcripts, one of them with --state', () => {
    assert.deepEqual(
      TRY_IT.map((t) => [t.file, t.args.join(' ')]),
      [
        ['examples/review-invalid.json', ''],
        ['examples/review-second-default.json', '--state examples/state.yaml'],
      ],
    );
  });

  for (const t of TRY_IT) {
    test(`${t.args.length ? `ARGS="${t.args.join(' ')}": ` : ''}${t.file} answers as the README shows`, async () => {
      // Relative paths in ARGS and --data are the checkout's, as in the README (make runs in the root).
      const args = t.args.map((a) => (a.startsWith('examples/') ? join(ROOT, a) : a));
      const { port, caPem } = await serverFor(args);
      const body = readFileSync(join(ROOT, t.file), 'utf8');
      const res = await httpsRequest(port, { path: '/validate', body, caPem });
      assert.equal(res.status, 200, res.error ?? res.body);
      assert.equal(res.body, t.expected);
    });
  }
});
