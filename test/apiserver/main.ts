// Runs the test API server as a process:
//
//   node --import tsx test/apiserver/main.ts --dir .e2e [--port 6443]
//        [--service NAMESPACE/NAME:PORT=https://127.0.0.1:LOCALPORT]...
//
// It writes DIR/kubeconfig, DIR/ca.crt and DIR/pid, then DIR/ready (holding
// the server URL) once it accepts connections, and stops on SIGTERM/SIGINT
// (removing DIR/ready and DIR/pid).

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestApiServer } from './index.js';

interface ServiceMapping {
  key: string;
  target: string;
}

/** Parses `NAMESPACE/NAME:PORT=URL`. */
function parseServiceMapping(text: string): ServiceMapping {
  const m = /^([^/]+)\/([^:=]+):(\d+)=(https:\/\/.+)$/.exec(text);
  if (!m) throw new Error(`--service wants NAMESPACE/NAME:PORT=https://HOST:PORT, got "${text}"`);
  return { key: `${m[1]}/${m[2]}:${m[3]}`, target: m[4] ?? '' };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      dir: { type: 'string', default: '.e2e' },
      service: { type: 'string', multiple: true, default: [] },
      verbose: { type: 'boolean', default: false },
    },
  });
  const dir = resolve(values.dir ?? '.e2e');
  const services = new Map((values.service ?? []).map(parseServiceMapping).map((m) => [m.key, m.target]));
  const server = await startTestApiServer({
    port: Number(values.port ?? '0'),
    serviceResolver: (namespace, name, port) => {
      const target = services.get(`${namespace}/${name}:${port}`);
      if (!target) throw new Error(`no --service mapping for ${namespace}/${name}:${port}`);
      return target;
    },
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });

  mkdirSync(dir, { recursive: true });
  server.writeKubeconfig(join(dir, 'kubeconfig'));
  writeFileSync(join(dir, 'ca.crt'), server.caPem);
  writeFileSync(join(dir, 'pid'), `${process.pid}\n`);
  writeFileSync(join(dir, 'ready'), `${server.url}\n`);
  process.stderr.write(`test apiserver listening on ${server.url} (kubeconfig: ${join(dir, 'kubeconfig')})\n`);

  const stop = (): void => {
    rmSync(join(dir, 'ready'), { force: true });
    rmSync(join(dir, 'pid'), { force: true });
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
