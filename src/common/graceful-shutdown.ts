import { INestApplication, Logger } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { Server } from 'node:http';

/** How long in-flight requests may take to finish once a stop is asked for. */
const DRAIN_MS = 7_000;

/**
 * A stop that loses nothing (SIGTERM of a rolling deploy): stop accepting connections, tell
 * keep-alive clients to go elsewhere (`Connection: close` on every answer from now on), let the
 * requests in flight finish (at most DRAIN_MS), then close the app — which writes what the
 * group-commit queue holds and closes the pools — and exit 0, well within 10 seconds.
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
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = new Promise<void>((resolve) => setTimeout(resolve, DRAIN_MS).unref());
    await Promise.race([closed, timer]);
    server.closeAllConnections();
    await app.close();
    this.logger.log('Stopped');
  }
}
