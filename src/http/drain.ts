// Closing kept-alive connections at shutdown without losing requests.
//
// Node's server.close() destroys every connection that is between two
// requests at that instant. A client (kube-apiserver's transport among them)
// may have just written its next request on such a connection: it is on the
// wire, not yet read, and the client gets EOF for a request it sent. Go does
// not retry a POST after that, so the webhook call fails. Here a connection
// is closed only once it has been quiet for a while: no request in progress,
// no byte received, no response finished for `quietMs`. A busy connection is
// never closed under a client: its next response carries Connection: close
// (see app.ts), so the client itself moves on. What is received is answered.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

interface Connection {
  /** The socket the HTTP parser reads (the TLS socket over HTTPS). */
  socket: Socket;
  /** The TCP socket underneath, whose bytesRead counts every byte that arrived, parsed or not. */
  wire: Socket;
  requests: number;
  bytesRead: number;
  quietSince: number;
}

export interface ConnectionCloser {
  /** Closes quiet idle connections now and the others once they are quiet, until the server has none left. */
  closeIdle(): void;
  /** Stops the re-checks (the server is closed). */
  stop(): void;
}

/**
 * Tracks the server's connections and takes over its closeIdleConnections()
 * (which server.close() calls) with one that waits for quiet.
 */
export function closeIdleOnlyWhenQuiet(
  server: Server,
  opts: { tls: boolean; quietMs: number; checkEveryMs: number; now: () => number },
): ConnectionCloser {
  const connections = new Map<Socket, Connection>();
  const track = (socket: Socket) => {
    const wire = ((socket as Socket & { _parent?: Socket })._parent ?? socket) as Socket;
    connections.set(socket, { socket, wire, requests: 0, bytesRead: wire.bytesRead, quietSince: opts.now() });
    socket.once('close', () => connections.delete(socket));
  };
  // HTTPS hands the TLS socket over once the handshake is done; plain HTTP the TCP socket at once.
  server.on(opts.tls ? 'secureConnection' : 'connection', track);
  server.on('request', (req, res) => {
    const c = connections.get(req.socket);
    if (!c) return;
    c.requests++;
    res.once('close', () => {
      c.requests--;
      c.quietSince = opts.now();
    });
  });

  let timer: NodeJS.Timeout | undefined;
  const closeIdle = () => {
    timer = undefined;
    const now = opts.now();
    let waiting = 0;
    for (const c of connections.values()) {
      if (c.requests > 0) continue; // closes itself after its response (Connection: close)
      if (c.wire.bytesRead !== c.bytesRead) {
        // Bytes arrived since last seen: a request is on its way in.
        c.bytesRead = c.wire.bytesRead;
        c.quietSince = now;
      }
      if (now - c.quietSince >= opts.quietMs) c.socket.destroy();
      else waiting++;
    }
    if (waiting > 0 || [...connections.values()].some((c) => c.requests > 0)) {
      timer = setTimeout(closeIdle, opts.checkEveryMs);
      timer.unref();
    }
  };
  server.closeIdleConnections = closeIdle;
  server.once('close', () => timer && clearTimeout(timer));
  return {
    closeIdle,
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
