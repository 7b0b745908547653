// A round-robin TCP proxy, the part of a Service (kube-proxy) that spreads
// connections over the pods behind it: each new connection goes to the next
// replica, and bytes pass through untouched (TLS ends at the replica, which
// all serve the same certificate from the shared Secret). Test
// infrastructure: it lets the API server's webhook calls reach several
// replicas through the one url a webhook configuration can name.
import net from 'node:net';

export interface RoundRobin {
  port: number;
  /** Connections handed to each target so far. */
  connections: number[];
  close(): Promise<void>;
}

export async function roundRobin(targets: { host: string; port: number }[]): Promise<RoundRobin> {
  const connections = targets.map(() => 0);
  const open = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    const i = next++ % targets.length;
    connections[i]!++;
    const upstream = net.connect(targets[i]!);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      // Either side going away ends the pair, as a connection through kube-proxy would.
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
