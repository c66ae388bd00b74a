import { INestApplication, Logger } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

/** How long in-flight requests may take to finish once a stop is asked for. */
const DRAIN_MS = 7_000;
/** How long a keep-alive connection may stay idle once a stop is asked for. */
const IDLE_GRACE_MS = 1_000;
/** Past this, a stop that is stuck (a database that does not answer) exits 1 anyway. */
const STOP_DEADLINE_MS = 9_500;

/**
 * A stop that loses nothing (SIGTERM of a rolling deploy): stop accepting connections, tell
 * keep-alive clients to go elsewhere (`Connection: close` on every answer from now on, after
 * which Node closes the connection), let the requests in flight finish (at most DRAIN_MS), then
 * close the app — which writes what the group-commit queue holds and closes the pools — and exit
 * 0, well within 10 seconds.
 *
 * Idle keep-alive connections are not dropped at once, as Node's `server.close()` would: a client
 * may have just sent a request over one, which would then be reset unanswered. They are closed
 * once idle for IDLE_GRACE_MS; a request that arrives on one before is answered (and the
 * connection closed after it).
 */
export class GracefulShutdown {
  private readonly logger = new Logger('Shutdown');
  private draining = false;

  /** Express middleware, installed first: marks every answer once draining has begun. */
  readonly middleware = (_req: Request, res: Response, next: NextFunction) => {
    if (this.draining) res.setHeader('Connection', 'close');
    next();
  };

  /** Installs the signal handlers on the running app. */
  listen(app: INestApplication, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
    const stop = (signal: NodeJS.Signals) => {
      signals.forEach((s) => process.removeAllListeners(s));
      setTimeout(() => {
        this.logger.error(`Not stopped after ${STOP_DEADLINE_MS} ms: exiting anyway`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      this.stop(app, signal).then(
        () => process.exit(0),
        (error: Error) => {
          this.logger.error(`Stopped with an error: ${error.message}`);
          process.exit(1);
        },
      );
    };
    signals.forEach((signal) => process.once(signal, stop));
  }

  async stop(app: INestApplication, signal = 'stop'): Promise<void> {
    this.logger.log(`${signal}: draining in-flight requests`);
    this.draining = true;
    const server = app.getHttpServer() as Server;
    // net.Server's close: stops listening; resolves once every connection has ended.
    const closed = new Promise<void>((resolve) =>
      NetServer.prototype.close.call(server, () => resolve()),
    );
    const idle = setInterval(() => server.closeIdleConnections(), IDLE_GRACE_MS);
    let drainTimer: NodeJS.Timeout | undefined;
    const timer = new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, DRAIN_MS)));
    await Promise.race([closed, timer]);
    clearInterval(idle);
    clearTimeout(drainTimer);
    server.closeAllConnections();
    await app.close();
    this.logger.log('Stopped');
  }
}
