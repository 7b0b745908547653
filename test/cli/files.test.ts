// The CLI's file handling: only regular files are read, each at most
// --max-file-size; symbolic links are followed (loops and dangling links
// reported); certificate files are written whole through a temporary file
// (keys 0600) and never through a symbolic link; generate refuses what its
// own check would. The processes that could hang or grow without end before
// (check /dev/zero, check FIFO) run as children with a time limit, and the
// test waits for them to exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createCA, issueServingCert } from '../../src/tls/certs.js';
import { CertFileError, writeCertFiles } from '../../src/tls/files.js';
import { stringify as stringifyYaml } from 'yaml';
import { runCli, type CliResult } from '../helpers/cli.js';
import { sidecar } from '../helpers/objects.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A valid namespace-wide Sidecar as a manifest file holds it. */
const manifest = (namespace: string, name: string) => stringifyYaml(sidecar(namespace, name));
const good = manifest('shop', 'default');

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'sg-files-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * The CLI as a child process with its stdin from `stdinFile` (default
 * /dev/null); killed after `limitMs`, which then shows as exit code null.
 */
function cliWithin(args: string[], limitMs: number, stdinFile = '/dev/null'): Promise<CliResult & { killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      stdio: [openSync(stdinFile, 'r'), 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/** Exit 2 with exactly one line on stderr matching `message`. */
function usageError(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}${r.stdout.slice(0, 300)}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, message);
}

describe('check reads regular files only, each bounded', { timeout: 120_000 }, () => {
  test('check /dev/zero is refused at once: not a regular file', async () => {
    const r = await cliWithin(['check', '/dev/zero'], 30_000);
    assert.equal(r.killed, false, 'it ended by itself');
    usageError(r, /^sidecar-guard: cannot read \/dev\/zero: not a regular file \(a character device\)/);
  });

  test('check FIFO is refused at once instead of waiting for a writer', async () => {
    const fifo = join(scratch(), 'sidecars.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await cliWithin(['check', fifo], 30_000);
    assert.equal(r.killed, false, 'it ended by itself');
    usageError(r, /not a regular file \(a FIFO\)/);
  });

  test('a FIFO named like a manifest inside a directory is refused too', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a.yaml'), good);
    execFileSync('mkfifo', [join(dir, 'b.yaml')]);
    usageError(await runCli(['check', dir]), /b\.yaml: not a regular file \(a FIFO\)/);
  });

  test('check - with /dev/zero on stdin stops at --max-file-size', async () => {
    const r = await cliWithin(['check', '--max-file-size', '1000000', '-'], 30_000, '/dev/zero');
    assert.equal(r.killed, false, 'it ended by itself');
    usageError(r, /^sidecar-guard: cannot read <stdin>: larger than 1000000 bytes \(--max-file-size\)$/);
  });

  test('--max-file-size caps every file; the default (16 MiB) reads ordinary ones', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a.yaml'), good);
    usageError(
      await runCli(['check', '--max-file-size', '50', join(dir, 'a.yaml')]),
      /a\.yaml: larger than 50 bytes \(--max-file-size\)/,
    );
    assert.equal((await runCli(['check', join(dir, 'a.yaml')])).code, 0);
    usageError(
      await runCli(['check', '--max-file-size', 'lots', dir]),
      /--max-file-size must be a non-negative integer/,
    );
  });

  test('generate --config /dev/zero is refused the same way', async () => {
    const r = await cliWithin(['generate', '-n', 'shop', '--config', '/dev/zero'], 30_000);
    assert.equal(r.killed, false);
    usageError(r, /cannot read --config \/dev\/zero: not a regular file \(a character device\)/);
  });
});

describe('check follows symbolic links', () => {
  test('to files and to folders, reading each file once', async () => {
    const outside = scratch();
    writeFileSync(join(outside, 'linked-file.yaml'), manifest('shop', 'linked-file'));
    mkdirSync(join(outside, 'folder'));
    writeFileSync(join(outside, 'folder', 'inner.yaml'), manifest('other', 'inner'));
    const dir = scratch();
    writeFileSync(join(dir, 'own.yaml'), manifest('own', 'default'));
    symlinkSync(join(outside, 'linked-file.yaml'), join(dir, 'file-link.yaml'));
    symlinkSync(join(outside, 'folder'), join(dir, 'folder-link'));
    symlinkSync(join(outside, 'folder'), join(dir, 'same-folder-again'));
    const r = await runCli(['check', '--output', 'json', dir]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { results: { file: string; name: string }[]; summary: { files: number } };
    assert.deepEqual(report.results.map((x) => x.name).sort(), ['default', 'inner', 'linked-file']);
    assert.equal(report.summary.files, 3, 'the folder reached twice is read once');
  });

  test('a link back into a folder being read is a loop, reported', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a.yaml'), good);
    mkdirSync(join(dir, 'sub'));
    symlinkSync(dir, join(dir, 'sub', 'up'));
    usageError(
      await runCli(['check', dir]),
      new RegExp(`cannot read ${dir}/sub/up: symbolic link loop \\(leads back to .*, which is being read\\)`),
    );
  });

  test('a link to itself and a dangling link named like a manifest are reported; other dangling links are not manifests', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a.yaml'), good);
    symlinkSync(join(dir, 'self.yaml'), join(dir, 'self.yaml'));
    usageError(await runCli(['check', dir]), /self\.yaml: symbolic link loop/);
    rmSync(join(dir, 'self.yaml'));
    symlinkSync(join(dir, 'gone'), join(dir, 'notes'));
    assert.equal((await runCli(['check', dir])).code, 0);
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'b.yaml'));
    usageError(await runCli(['check', dir]), /b\.yaml: broken symbolic link/);
  });
});

describe('certificate files', () => {
  const ca = createCA();
  const serving = issueServingCert(ca, { dnsNames: ['localhost'] });
  const mode = (path: string) => statSync(path).mode & 0o777;

  test('an existing tls.key readable by others is replaced by a 0600 file', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'tls.key'), 'old');
    chmodSync(join(dir, 'tls.key'), 0o644);
    writeCertFiles(dir, ca, serving);
    assert.equal(mode(join(dir, 'tls.key')), 0o600);
    assert.equal(mode(join(dir, 'ca.key')), 0o600);
    assert.equal(readFileSync(join(dir, 'tls.key'), 'utf8'), serving.keyPem);
    assert.deepEqual(
      execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).trim().split('\n').sort(),
      ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'],
      'no temporary file left behind',
    );
  });

  test('a symbolic link in place of a key is refused, and what it points to is untouched', async () => {
    const dir = scratch();
    const elsewhere = join(scratch(), 'victim');
    writeFileSync(elsewhere, 'precious');
    symlinkSync(elsewhere, join(dir, 'tls.key'));
    assert.throws(
      () => writeCertFiles(dir, ca, serving),
      (err: unknown) =>
        err instanceof CertFileError && /refusing to write .*tls\.key: it is a symbolic link/.test(err.message),
    );
    assert.equal(readFileSync(elsewhere, 'utf8'), 'precious');
    assert.equal(
      statSync(join(dir, 'ca.crt'), { throwIfNoEntry: false }),
      undefined,
      'nothing written when one target is refused',
    );
    usageError(
      await runCli(['certs', '--out', dir]),
      /^sidecar-guard: refusing to write .*tls\.key: it is a symbolic link/,
    );
    assert.equal(readFileSync(elsewhere, 'utf8'), 'precious');
  });
});

describe('certs --out through a symbolic link to nothing', () => {
  test('a link loop or a dangling link in the path is named, not reported as mkdir EEXIST', async () => {
    const dir = scratch();
    symlinkSync('loop', join(dir, 'loop'));
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
    usageError(
      await runCli(['certs', '--out', join(dir, 'loop')]),
      /^sidecar-guard: cannot use .*loop: .*loop is a symbolic link to nothing \(a loop, or its target is gone\)$/,
    );
    usageError(
      await runCli(['certs', '--out', join(dir, 'dangling', 'certs')]),
      /^sidecar-guard: cannot use .*dangling\/certs: .*dangling is a symbolic link to nothing/,
    );
  });
});

describe('generate validates its inputs first', () => {
  test("--namespace 'Bad NS!' is a usage error, not an object that check rejects", async () => {
    const r = await runCli(['generate', '--namespace', 'Bad NS!']);
    usageError(r, /--namespace must be a namespace name .*got "Bad NS!"/);
    assert.equal(r.stdout, '');
    usageError(
      await runCli(['generate', '-n', 'shop', '--root-namespace', 'Istio_System']),
      /--root-namespace must be a namespace name/,
    );
  });

  test('a template host Istio cannot parse is refused before printing', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'template.yaml'), 'egressHosts: ["./*", "not a host"]\n');
    const r = await runCli(['generate', '-n', 'shop', '--config', join(dir, 'template.yaml')]);
    // The file to fix is named.
    usageError(
      r,
      /the generated Sidecar would be rejected \(made from --config .*template\.yaml\): spec\.egress\[0\]\.hosts\[1\]/,
    );
    assert.equal(r.stdout, '');
  });

  test('what it prints, its check accepts', async () => {
    const printed = await runCli(['generate', '-n', 'shop']);
    assert.equal(printed.code, 0);
    const checked = await runCli(['check', '-'], { stdin: printed.stdout });
    assert.equal(checked.code, 0, checked.stdout);
  });
});
