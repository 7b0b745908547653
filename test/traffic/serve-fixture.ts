// Starts a Prometheus holding the fixture mesh's traffic and prints its URL,
// for trying the traffic commands by hand (the README's captured output):
//   node --import tsx test/traffic/serve-fixture.ts     (Ctrl-C stops it)
import { loadCalls, openMetrics } from './openmetrics.js';
import { startPrometheus } from './prometheus-server.js';

const prometheus = await startPrometheus({ openMetrics: openMetrics(loadCalls(), Math.floor(Date.now() / 1000)) });
process.stdout.write(`${prometheus.url}\n`);
const stop = () => void prometheus.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
