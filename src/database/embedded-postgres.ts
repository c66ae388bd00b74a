import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** A PGlite database served over the Postgres wire protocol on a loopback port. */
export interface EmbeddedPostgres {
  url: string;
  /** A tarball of the data directory, loadable as `loadDataDir` (tests copy a migrated template). */
  dump(): Promise<Blob>;
  stop(): Promise<void>;
}

// PGlite ships as ESM only; `new Function` keeps TypeScript's CommonJS output from turning
// these dynamic imports into `require()` calls, which cannot load ESM.
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(
  specifier: string,
) => Promise<T>;

/**
 * Starts PGlite with its data under `dataDir` (or, with `loadDataDir`, from a dump: used by
 * tests to copy a migrated template) and serves it on a unix socket in a fresh directory only
 * this user can enter (0700, the socket 0600): PGlite checks no password, so no other local
 * user or container neighbour may reach it, as any could a loopback TCP port. PGlite is a single
 * session: each client should use a pool of one connection.
 */
export async function startEmbeddedPostgres(options: {
  dataDir?: string;
  loadDataDir?: Blob;
}): Promise<EmbeddedPostgres> {
  const { PGlite } = await importEsm<typeof import('@electric-sql/pglite')>('@electric-sql/pglite');
  const { PGLiteSocketServer } = await importEsm<typeof import('@electric-sql/pglite-socket')>(
    '@electric-sql/pglite-socket',
  );
  let dataDir: string | undefined;
  if (options.dataDir) {
    dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
  }
  const db = await PGlite.create(
    dataDir,
    options.loadDataDir ? { loadDataDir: options.loadDataDir } : {},
  );
  // Several connections are accepted (two app instances over one embedded database, in tests),
  // but PGlite runs one query at a time and a transaction holds it exclusively.
  const socketDir = mkdtempSync(join(tmpdir(), 'metering-pglite-'));
  // libpq's naming: a client given the directory as `host` connects to `.s.PGSQL.<port>` in it.
  const path = join(socketDir, '.s.PGSQL.5432');
  const server = new PGLiteSocketServer({ db, path, maxConnections: 16 });
  await server.start();
  chmodSync(path, 0o600);
  return {
    url: `postgres://postgres@localhost:5432/postgres?host=${encodeURIComponent(socketDir)}`,
    dump: () => db.dumpDataDir('none'),
    async stop() {
      await server.stop();
      await db.close();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
