// Waiting in tests, never sleeping: waitFor polls a condition the view, a
// controller or a server reaches asynchronously (and fails with what was
// awaited when the time is up); outputMatching waits for a child process's
// output, driven by its own events.
import type { ChildProcess } from 'node:child_process';
/** `what` may be a function: called only on timeout, so the error can say what was seen instead. */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Resolves once the child's stdout and stderr together match `pattern`;
 * rejects with the output so far if the child exits first.
 */
export function outputMatching(child: ChildProcess, output: () => string, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(output())) return false;
      cleanup();
      resolve();
      return true;
    };
    const exited = () => {
      if (check()) return;
      cleanup();
      reject(new Error(`exited before printing ${pattern}: ${output()}`));
    };
    const cleanup = () => {
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', exited);
    };
    // Registered after the caller's own 'data' listeners, so output() already holds this chunk.
    const onData = () => void check();
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', exited);
    if (child.exitCode !== null) exited();
    else check();
  });
}
