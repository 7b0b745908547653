// serve's logs: JSON lines by default (what log collectors read), readable
// one-line entries with --log-format text, and text without the flag when
// stdout is a terminal (a real pseudo-terminal from util-linux's `script`).
// Each run is the installed binary, stopped with SIGTERM once it listens;
// the waits are on the child's own output (outputMatching).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN, ROOT } from '../helpers/cli.js';
import { outputMatching } from '../helpers/wait.js';

const certDir = mkdtempSync(join(tmpdir(), 'sg-logfmt-'));
const SERVE = ['serve', '--standalone', '--listen', '127.0.0.1:0', '--metrics-listen', 'off', '--cert-dir', certDir];
const LISTENING = /listening on https:\/\/127\.0\.0\.1:\d+/;
const STOPPED = /stopped/;
/** The escape that starts an ANSI colour sequence. */
const ESC = String.fromCharCode(0x1b);

/** Runs until it listens, stops it with SIGTERM, and returns everything it wrote to stdout. */
async function runUntilListening(
  command: string,
  args: string[],
  stop: (child: ChildProcess) => void = (c) => c.kill('SIGTERM'),
): Promise<string> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise((resolve) => child.once('close', resolve));
  await outputMatching(child, () => out, LISTENING);
  stop(child);
  await exited;
  return out;
}

describe('serve --log-format', { timeout: 60_000 }, () => {
  test('default without a terminal: one JSON object per line', async () => {
    const out = await runUntilListening(process.execPath, [BIN, ...SERVE]);
    const lines = out.trimEnd().split('\n');
    assert.ok(lines.length >= 3, out);
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: number; time: string; msg: string; app: string };
      assert.equal(entry.app, 'sidecar-guard');
      assert.match(entry.time, /^\d{4}-\d\d-\d\dT/);
      assert.equal(typeof entry.msg, 'string');
    }
    assert.ok(lines.some((l) => LISTENING.test(l)));
    assert.ok(lines.some((l) => STOPPED.test(l)));
  });

  test('text: one readable line per entry, time, level and message, fields after', async () => {
    const out = await runUntilListening(process.execPath, [BIN, ...SERVE, '--log-format', 'text']);
    const lines = out.trimEnd().split('\n');
    assert.ok(lines.length >= 3, out);
    for (const line of lines)
      assert.match(line, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|DEBUG|ERROR): \S/);
    assert.doesNotMatch(out, /\{"level"/);
    assert.ok(!out.includes(`${ESC}[`), 'no colours when stdout is not a terminal');
    assert.ok(lines.some((l) => /INFO: sidecar-guard listening on https:\/\/127\.0\.0\.1:\d+/.test(l)));
    assert.ok(
      lines.some((l) =>
        /INFO: shutting down: readiness off, draining \{"reason":"SIGTERM","drainDelayMs":0\}$/.test(l),
      ),
    );
  });

  test('--log-format other than json or text is a usage error', async () => {
    const res = spawnSync(process.execPath, [BIN, ...SERVE, '--log-format', 'yaml'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(res.status, 2);
    assert.equal(res.stderr, 'sidecar-guard: --log-format must be json or text, got "yaml"\n');
  });

  test('at a terminal without the flag: readable, coloured lines', {
    skip: spawnSync('script', ['--version']).status !== 0 && 'no util-linux script here',
  }, async () => {
    // `script` runs the command on a new pseudo-terminal; closing it (SIGTERM to script) hangs the server up.
    const command = [process.execPath, BIN, ...SERVE].map((a) => `'${a}'`).join(' ');
    const out = await runUntilListening('script', ['-qec', command, '/dev/null']);
    const first = out.split('\n').find((l) => LISTENING.test(l))!;
    assert.match(first, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] /);
    assert.ok(first.includes(`] ${ESC}[32mINFO${ESC}[39m: `), first);
    assert.doesNotMatch(out, /\{"level"/);
  });
});

describe('serve logs are written as they are logged', () => {
  // A line must be out before the next statement runs: a process killed right after logging (OOM, SIGKILL
  // after a failed drain) keeps it. pino's default stream writes on later ticks: after a burst of lines, what
  // it had not written yet is lost to the kill.
  for (const format of ['json', 'text'] as const) {
    test(`--log-format ${format}: a line logged just before SIGKILL is in the output`, () => {
      const script = `
        const { createLogger } = await import(${JSON.stringify(join(ROOT, 'src/main.ts'))});
        const logger = createLogger('info', ${JSON.stringify(format)});
        for (let i = 0; i < 2000; i++) logger.info('line ' + i);
        logger.info('the last words');
        process.kill(process.pid, 'SIGKILL');`;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(run.signal, 'SIGKILL', run.stderr);
      assert.match(run.stdout, /line 1999[^\n]*\n[^\n]*the last words/);
    });
  }
});

describe("serve on 0.0.0.0 (the default, and the Deployment's)", { timeout: 60_000 }, () => {
  test('one listening line per address, each naming a different URL (no line twice)', async () => {
    const args = [BIN, ...SERVE.map((a) => (a === '127.0.0.1:0' ? '0.0.0.0:0' : a))];
    const out = await runUntilListening(process.execPath, args);
    const urls = out
      .trimEnd()
      .split('\n')
      .map((l) => /sidecar-guard listening on (\S+) /.exec((JSON.parse(l) as { msg: string }).msg)?.[1])
      .filter((u) => u !== undefined);
    assert.ok(
      urls.some((u) => /^https:\/\/127\.0\.0\.1:\d+$/.test(u)),
      out,
    );
    assert.equal(new Set(urls).size, urls.length, `a URL logged twice: ${urls.join(', ')}`);
    assert.ok(
      urls.every((u) => !u.includes('0.0.0.0')),
      'each line names a reachable address',
    );
  });
});
