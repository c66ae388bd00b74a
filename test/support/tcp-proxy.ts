import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';

/**
 * How a cut proxy treats new connections: `refuse` closes each at once (a stopped server, a
 * firewall's reset); `blackhole` accepts it and never answers (a partition, a dead host), so only
 * the client's own timeouts end the wait.
 */
export type CutMode = 'refuse' | 'blackhole';

/**
 * A TCP proxy in front of a server (Postgres) that a test can cut and restore: an outage on
 * demand, for one app instance whose connection string goes through `url()`.
 */
export class TcpProxy {
  private readonly live = new Set<Socket>();
  private mode: CutMode | null = null;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new TcpProxy(server, target);
  }

  /** A proxy for the Postgres server of `databaseUrl`. */
  static forUrl(databaseUrl: string): Promise<TcpProxy> {
    const url = new URL(databaseUrl);
    return TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** Destroys every live connection; new ones are refused or black-holed until `restore()`. */
  cut(mode: CutMode = 'refuse'): void {
    this.mode = mode;
    for (const socket of this.live) socket.destroy();
    this.live.clear();
  }

  restore(): void {
    this.mode = null;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    // A black hole: bytes in, nothing out (the socket is destroyed on restore or close).
    if (this.mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  private track(socket: Socket): void {
    this.live.add(socket);
    socket.on('close', () => this.live.delete(socket));
    socket.on('error', () => undefined);
  }
}
