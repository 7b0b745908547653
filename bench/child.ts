// Child processes of the benchmark: TypeScript through tsx, results as
// marked JSON lines on stdout, everything else passed through to stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const MARK = '@@bench ';

/**
 * The V8 flags the image runs the webhook with (the Dockerfile's ENTRYPOINT;
 * test/manifests/runtime-flags.test.ts keeps the two equal). Without a fixed
 * young generation, Node 24 sizes it from the host's memory: up to 64 MB per
 * semi-space on a large machine (128 MB of RSS holding nothing after a GC),
 * far less in a container with a memory limit. Pinning it to 16 MB (Node 20's
 * largest) makes the process's memory the same on every node, and the
 * benchmark measures what runs.
 */
export const PRODUCTION_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** Node flags every child gets on top of tsx: the production ones, and e.g. --cpu-prof when profiling. */
export const childNodeFlags: string[] = [...PRODUCTION_NODE_FLAGS];

/** Called in a child: one result message for the parent. */
export function report(message: unknown): void {
  process.stdout.write(`${MARK}${JSON.stringify(message)}\n`);
}

export interface Child {
  process: ChildProcess;
  /** The next message, or a rejection when the child exits first. */
  next<T>(): Promise<T>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export interface ChildOptions {
  /** Extra node flags, e.g. --expose-gc. */
  nodeFlags?: string[];
  /** Run through tsx (default); false for plain JavaScript children. */
  tsx?: boolean;
  /** Give the child a stdin pipe (Child.process.stdin) instead of /dev/null. */
  stdin?: boolean;
  /** Run it at this niceness (`nice -n`), e.g. 19 for load that stands in for other machines. */
  nice?: number;
  /** Receives the child's unmarked stdout lines (e.g. V8's --trace-gc-nvp) instead of passing them to stderr. */
  onLine?: (line: string) => void;
}

export function startChild(script: string, args: string[] = [], opts: ChildOptions = {}): Child {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const loader = opts.tsx === false ? [] : ['--import', 'tsx'];
  const argv = [...loader, ...childNodeFlags, ...(opts.nodeFlags ?? []), file, ...args];
  const [command, commandArgs] =
    opts.nice === undefined ? [process.execPath, argv] : ['nice', ['-n', String(opts.nice), process.execPath, ...argv]];
  const proc = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'],
  });
  const queue: unknown[] = [];
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  let exitCode: number | null | undefined;
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (!line.startsWith(MARK))
      return void (opts.onLine ? opts.onLine(line) : process.stderr.write(`[${script}] ${line}\n`));
    const msg = JSON.parse(line.slice(MARK.length));
    const w = waiting.shift();
    if (w) w.resolve(msg);
    else queue.push(msg);
  });
  const exited = new Promise<number | null>((resolve) =>
    // 'close' comes after stdout ended, so every line has been delivered.
    proc.on('close', (code, signal) => {
      const status = code ?? (signal ? null : 0);
      exitCode = status;
      setImmediate(() => {
        for (const w of waiting.splice(0)) w.reject(new Error(`${script} exited (${signal ?? code}) before reporting`));
        resolve(status);
      });
    }),
  );
  return {
    process: proc,
    exited,
    next<T>() {
      if (queue.length > 0) return Promise.resolve(queue.shift() as T);
      if (exitCode !== undefined) return Promise.reject(new Error(`${script} already exited (${exitCode})`));
      return new Promise<T>((resolve, reject) => waiting.push({ resolve: resolve as (v: unknown) => void, reject }));
    },
    async stop() {
      if (exitCode === undefined) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a child to completion and returns its last message. */
export async function runChild<T>(script: string, args: string[] = [], opts: ChildOptions = {}): Promise<T> {
  return finish<T>(script, startChild(script, args, opts));
}

/** Waits for a started child to exit and returns its last message. */
export async function finish<T>(script: string, child: Child): Promise<T> {
  const messages: unknown[] = [];
  const collecting = (async () => {
    for (;;) messages.push(await child.next());
  })().catch(() => undefined);
  const code = await child.exited;
  await collecting;
  if (code !== 0) throw new Error(`${script} failed with exit code ${code}`);
  if (messages.length === 0) throw new Error(`${script} reported nothing`);
  return messages[messages.length - 1] as T;
}
