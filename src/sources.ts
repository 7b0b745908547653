// Reading manifest paths the way kubectl -f does: files, directories
// (recursively, *.yaml|*.yml|*.json) and `-` for stdin. Used only by the
// composition root (cli.ts / main.ts).
//
// Only regular files are read, each at most `maxBytes`: `check /dev/zero`
// would otherwise grow without end and `check FIFO` wait forever. Symbolic
// links are followed, to files and to directories; a link that leads back
// into a directory being read (a loop) and a dangling link to what would be
// a manifest are reported, never skipped in silence. A file reached twice
// (named twice, or through two links) is read once, and so is stdin.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { Source } from './manifests/documents.js';
import { append } from './util/arrays.js';
import { manifestText } from './manifests/text.js';

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** The default for --max-file-size: far more than any manifest holds (a cluster object is at most 3 MiB). */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

export class UsageError extends Error {}

/** A path that cannot be read: the usual message, and its reason alone for callers that name the flag. */
export class UnreadableFile extends UsageError {
  constructor(
    readonly path: string,
    readonly reason: string,
    hint = '',
  ) {
    super(`cannot read ${path}: ${reason}${hint}`);
  }
}

export interface ReadOptions {
  /** Largest file (and stdin) read; beyond it the read fails with a usage error. */
  maxBytes?: number;
}

export function readSources(
  paths: readonly string[],
  readStdin: (maxBytes: number) => string = (max) => readBounded(0, max, '<stdin>'),
  options: ReadOptions = {},
): Source[] {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const sources: Source[] = [];
  const seen = new Set<string>();
  const directories: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      // Named twice, stdin is read once, as a file reached twice is (a second read finds it at its end).
      if (!seen.has('-')) sources.push({ file: '<stdin>', text: readStdin(maxBytes) });
      seen.add('-');
      continue;
    }
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      throw new UnreadableFile(path, describeError(err as NodeJS.ErrnoException, path));
    }
    if (stat.isDirectory()) directories.push(path);
    const files = stat.isDirectory() ? manifestFilesUnder(path) : [path];
    for (const file of files) {
      const id = identity(statSync(file));
      if (seen.has(id)) continue;
      seen.add(id);
      sources.push({ file, text: readManifestFile(file, maxBytes) });
    }
  }
  // A CI step pointed at the wrong folder would otherwise pass, having judged nothing (kubectl apply -f says
  // "no objects passed to apply"). A file named outright is read whatever it holds; an empty one still passes.
  if (sources.length === 0 && directories.length > 0)
    throw new UsageError(
      `no manifest file (*.yaml, *.yml or *.json) in ${directories.map((d) => JSON.stringify(d)).join(', ')}`,
    );
  return sources;
}

/** A regular file's text, at most maxBytes; anything else is a usage error naming what it is. */
export function readManifestFile(file: string, maxBytes: number): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; for a regular file it changes nothing.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new UnreadableFile(file, describeError(err as NodeJS.ErrnoException, file));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile())
      throw new UnreadableFile(
        file,
        `not a regular file (${kindOf(stat)})`,
        '; give files, directories or - for stdin',
      );
    if (stat.size > maxBytes) throw tooLarge(file, maxBytes);
    return readBounded(fd, maxBytes, file);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a descriptor to its end, failing as soon as it holds more than
 * maxBytes (a file can grow while read; /proc files report size 0). The text
 * is decoded as kubectl decodes a manifest (manifestText: UTF-16 with a byte
 * order mark too).
 */
export function readBounded(fd: number, maxBytes: number, what: string): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      // A non-blocking pipe with nothing in it yet: wait a little, as a blocking read would.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      throw new UsageError(`cannot read ${what}: ${(err as Error).message}`);
    }
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw tooLarge(what, maxBytes);
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return manifestText(Buffer.concat(chunks, total));
}

const tooLarge = (what: string, maxBytes: number) =>
  new UnreadableFile(what, `larger than ${maxBytes} bytes`, ' (--max-file-size)');

/**
 * The file a flag names (--config, --client-ca, --kubeconfig), read as a
 * manifest is: a regular file of at most maxBytes, never a device or FIFO
 * (/dev/zero would grow without end, a FIFO wait for ever).
 */
export function readFlagFile(path: string, flag: string, maxBytes = DEFAULT_MAX_FILE_BYTES): string {
  return namingFlag(flag, () => readManifestFile(path, maxBytes));
}

/** The files and directories a flag names (serve --state), read as PATHs are, each at most the default size. */
export function readFlagSources(paths: readonly string[], flag: string): Source[] {
  return namingFlag(flag, () => readSources(paths));
}

/** `read`'s result; a file it cannot read is named as the flag's, without the hint of a flag the command lacks. */
function namingFlag<T>(flag: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof UnreadableFile) throw new UsageError(`cannot read ${flag} ${err.path}: ${err.reason}`);
    throw err;
  }
}

/**
 * Manifest files under a directory, depth first in name order, following
 * symbolic links. `ancestors` holds the real paths of the directories being
 * descended, so a link back into one of them is a loop.
 */
function manifestFilesUnder(dir: string, ancestors: readonly string[] = [realpathSync(dir)]): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    throw new UnreadableFile(dir, describeError(err as NodeJS.ErrnoException, dir));
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    let stat: Stats = lstatSync(full);
    if (stat.isSymbolicLink()) {
      try {
        stat = statSync(full);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') throw new UnreadableFile(full, 'symbolic link loop');
        // A dangling link is reported where a manifest was expected, like any unreadable manifest.
        if (MANIFEST_EXT.test(entry.name)) throw new UnreadableFile(full, 'broken symbolic link');
        continue;
      }
    }
    if (stat.isDirectory()) {
      const real = realpathSync(full);
      const loop = ancestors.find((a) => a === real);
      if (loop) throw new UnreadableFile(full, `symbolic link loop (leads back to ${loop}, which is being read)`);
      append(out, manifestFilesUnder(full, [...ancestors, real]));
    } else if (MANIFEST_EXT.test(entry.name)) {
      // Devices, FIFOs and sockets named like manifests are refused when read, with what they are.
      out.push(full);
    }
  }
  return out;
}

function identity(stat: Stats): string {
  return `${stat.dev}:${stat.ino}`;
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'not a file';
}

function describeError(err: NodeJS.ErrnoException, path: string): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'ELOOP':
      return 'symbolic link loop';
    default:
      return err.message.replace(`, open '${path}'`, '').replace(`, stat '${path}'`, '');
  }
}
