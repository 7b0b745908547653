// Runs a program to completion as a test's user would and hands back what it
// printed and its exit code (1 when it was killed or could not start: a test
// then fails on the code, with stderr to say why, instead of rejecting).
import { type ExecFileOptions, execFile } from 'node:child_process';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runProcess(
  file: string,
  args: readonly string[],
  options: ExecFileOptions,
  stdin = '',
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, options, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(stdin);
  });
}
