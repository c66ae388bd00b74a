import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

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
 * tests to copy a migrated template) and serves it on a free port of 127.0.0.1. PGlite is a
 * single session: each client should use a pool of one connection.
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
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    dump: () => db.dumpDataDir('none'),
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
