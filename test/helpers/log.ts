// A pino logger whose JSON lines a test reads back as objects, in order.
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export function capturedLogger<Line extends object = { level: number; msg: string }>(
  level: pino.LevelWithSilent = 'debug',
): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write: (chunk, _enc, done) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
