// The attackers of bench/attack.ts, in their own process so that their work
// never delays the honest client's clock.
//   flood:   N clients, each sending BODY (a ~6.9 MiB AdmissionReview) as fast
//            as it can, again and again, on kept-alive connections.
//   trickle: N clients, each sending a request head and then one body byte per
//            second; when the server cuts it, it connects again at once.
//   connect: N clients, each holding HOLD connections open at once and saying
//            nothing on them; each one the server closes (or drops at
//            accept) is opened again at once.
// Reports what the server answered them, counted by status.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { report } from './child.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    port: { type: 'string' },
    ca: { type: 'string' },
    body: { type: 'string' },
    clients: { type: 'string', default: '32' },
    hold: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '20' },
  },
});

const port = Number(values.port);
const ca = readFileSync(values.ca!, 'utf8');
const body = readFileSync(values.body!);
const clients = Number(values.clients);
const endAt = Date.now() + Number(values.seconds) * 1000;
const statuses = new Map<string, number>();
const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
let bodiesSent = 0;

const head = (length: number) =>
  `POST /validate?timeout=10s HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

/** One TLS connection; resolves with the status of every response it read, until it closed. */
function connection(send: (socket: tls.TLSSocket) => void): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let received = '';
    socket.setEncoding('latin1');
    socket.on('secureConnect', () => send(socket));
    socket.on('data', (d: string) => {
      received += d;
      // Count every status line; the bodies are small JSON documents.
      for (const m of received.matchAll(/HTTP\/1\.1 (\d{3})/g)) count(m[1]!);
      received = received.slice(received.lastIndexOf('HTTP/1.1 ') + 12);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => count(e.code ?? 'error'));
    socket.on('close', () => resolve());
  });
}

/** Sends the whole body again each time the previous answer arrived, while the connection lives. */
async function flooder(): Promise<void> {
  while (Date.now() < endAt) {
    await connection((socket) => {
      let answered = 0;
      const sendOne = () => {
        if (Date.now() >= endAt) return void socket.end();
        socket.write(head(body.length));
        socket.write(body, () => void bodiesSent++);
      };
      socket.on('data', () => {
        // One answer per request: send the next when it came (keep-alive).
        answered++;
        sendOne();
      });
      void answered;
      sendOne();
    });
  }
}

async function trickler(): Promise<void> {
  while (Date.now() < endAt) {
    await connection((socket) => {
      socket.write(head(body.length));
      let sent = 0;
      const timer = setInterval(() => {
        if (Date.now() >= endAt || socket.destroyed) {
          clearInterval(timer);
          return void socket.destroy();
        }
        socket.write(body.subarray(sent, sent + 1));
        sent++;
      }, 1000);
      socket.on('close', () => clearInterval(timer));
    });
  }
}

/** Keeps `hold` idle connections open, replacing each as soon as it closes; counts those that completed TLS. */
async function holder(): Promise<void> {
  const one = async () => {
    while (Date.now() < endAt) {
      await connection((socket) => {
        count('handshakes');
        const timer = setInterval(() => Date.now() >= endAt && socket.destroy(), 250);
        socket.on('close', () => clearInterval(timer));
      });
    }
  };
  await Promise.all(Array.from({ length: Number(values.hold) }, one));
}

const run = values.mode === 'flood' ? flooder : values.mode === 'connect' ? holder : trickler;
await Promise.all(Array.from({ length: clients }, run));
report({ mode: values.mode, clients, bodyBytes: body.length, bodiesSent, statuses: Object.fromEntries(statuses) });
