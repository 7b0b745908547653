// Child: the open-loop client of the fixed-rate phase, alone in a fresh
// process, so the runner's heap (autocannon's results, earlier phases) never
// pauses the clock that measures the server.
//   --origin URL --path /validate --ca FILE --body FILE --rate N --seconds S --warmup S --connections N
// Reports {"warm": true} after the warm-up, waits for SIGUSR2 (the parent
// resets the server's own record meanwhile), then reports the result.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { report } from './child.js';
import { fixedRate, type Target } from './load.js';

const { values } = parseArgs({
  options: {
    origin: { type: 'string' },
    path: { type: 'string', default: '/validate' },
    ca: { type: 'string' },
    body: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8' },
  },
});
const target: Target = {
  origin: values.origin!,
  path: values.path!,
  ca: readFileSync(values.ca!, 'utf8'),
  body: readFileSync(values.body!, 'utf8'),
};
const opts = { rate: Number(values.rate), connections: Number(values.connections) };
// A signal listener does not keep the event loop alive; the timer does, until the signal.
const keepAlive = setInterval(() => undefined, 1_000);
const go = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
await fixedRate(target, { ...opts, seconds: Number(values.warmup) });
report({ warm: true });
await go;
clearInterval(keepAlive);
report(await fixedRate(target, { ...opts, seconds: Number(values.seconds) }));
