/**
 * Run as a child process by embedded-postgres.e2e-spec.ts (PGlite cannot load inside jest's
 * sandbox): starts the embedded Postgres as the app does, records every `listen()` of the
 * process, prints `{url, pid, listens}` as one JSON line, and stops when its stdin closes.
 */
import { Server } from 'node:net';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

const listens: unknown[] = [];
const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  listens.push(typeof args[0] === 'function' ? null : args[0]);
  return listen.apply(this, args as Parameters<typeof listen>);
} as typeof listen;

async function main(): Promise<void> {
  const db = await startEmbeddedPostgres({});
  process.stdout.write(`${JSON.stringify({ url: db.url, pid: process.pid, listens })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    db.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
