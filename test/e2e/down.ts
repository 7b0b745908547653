// npm run e2e:down — stops what e2e:up started and removes its state.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAlive, STATE_FILE, type E2eState } from './env.js';

async function stop(name: string, pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    console.log(`${name} (pid ${pid}) did not stop within 10 s: killed`);
  } else {
    console.log(`stopped ${name} (pid ${pid})`);
  }
}

async function main(): Promise<void> {
  if (!existsSync(STATE_FILE)) {
    console.log('no e2e environment is up');
    return;
  }
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
  await stop('sidecar-guard', state.webhook.pid);
  await stop('test API server', state.apiserver.pid);
  rmSync(STATE_FILE, { force: true });
}

main().catch((err: Error) => {
  console.error(`e2e:down failed: ${err.message}`);
  process.exitCode = 1;
});
