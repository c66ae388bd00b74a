import { once } from 'node:events';
import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net, { AddressInfo } from 'node:net';
import tls from 'node:tls';

/**
 * Local receivers for the delivery specs: real servers on 127.0.0.1 that record what reached
 * them, so a test can assert that a refused delivery never connected. Test-only (not imported by
 * application code); it lives here because the specs beside the delivery code share it.
 */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** TLS server name (SNI) the client sent, for https receivers. */
  servername?: string;
}

export interface TestReceiver {
  port: number;
  /** `http://127.0.0.1:<port>` (or https). */
  origin: string;
  /** TCP connections accepted, answered or not. */
  readonly connections: number;
  readonly requests: ReceivedRequest[];
  /** Resolves once every accepted connection has been closed (by either side). */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An HTTP(S) receiver; `handler` runs once the request body has arrived. */
export function startReceiver(
  handler: Handler,
  tlsOptions?: { key: string; cert: string },
): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = [];
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        servername: (req.socket as tls.TLSSocket).servername || undefined,
      });
      handler(req, res);
    });
  };
  const server = tlsOptions
    ? https.createServer(tlsOptions, onRequest)
    : http.createServer(onRequest);
  return listen(server, tlsOptions ? 'https' : 'http', requests);
}

/** A bare TCP receiver for answers no HTTP server would write (dribbled status lines). */
export function startRawReceiver(onSocket: (socket: net.Socket) => void): Promise<TestReceiver> {
  return listen(net.createServer(onSocket), 'http', []);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listen(
  server: net.Server,
  scheme: 'http' | 'https',
  requests: ReceivedRequest[],
): Promise<TestReceiver> {
  const sockets = new Set<net.Socket>();
  const closed: Promise<unknown>[] = [];
  let connections = 0;
  server.on('connection', (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    // Not events.once: it rejects on 'error', and a reset connection is an expected outcome here.
    closed.push(new Promise((resolve) => socket.once('close', resolve)));
    socket.once('close', () => sockets.delete(socket));
    // A client that goes away mid-write is expected here; do not crash the test process.
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `${scheme}://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    requests,
    allClosed: async () => {
      await Promise.all(closed);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
