// npm run e2e:down — stops what e2e:up started (webhook, API server, etcd) and removes its state.
import { existsSync, rmSync } from 'node:fs';
import { isAlive, stopProcess } from '../cluster/control-plane.js';
import { readState, STATE_FILE } from './env.js';

async function stop(name: string, pid: number | undefined): Promise<void> {
  if (!pid || !isAlive(pid)) return;
  const how = await stopProcess(pid);
  console.log(
    how === 'killed' ? `${name} (pid ${pid}) did not stop on SIGTERM: killed` : `stopped ${name} (pid ${pid})`,
  );
}

async function main(): Promise<void> {
  if (!existsSync(STATE_FILE)) {
    console.log('no e2e environment is up');
    return;
  }
  const state = readState();
  const replicas = state.replicas ?? [state.webhook];
  for (const [i, r] of replicas.entries())
    await stop(replicas.length > 1 ? `sidecar-guard replica ${i}` : 'sidecar-guard', r.pid);
  await stop('sidecar-guard', state.webhook.pid);
  await stop(state.kind === 'real' ? 'kube-apiserver' : 'test API server', state.apiserver.pid);
  await stop('etcd', state.control?.etcd.pid);
  rmSync(STATE_FILE, { force: true });
}

main().catch((err: Error) => {
  console.error(`e2e:down failed: ${err.message}`);
  process.exitCode = 1;
});
