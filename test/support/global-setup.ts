import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMigrationsLocked } from '../../src/database/migrate';
import { buildDataSourceOptions } from '../../src/database/typeorm-options';
import { CONTROL_ENV, databaseUrl, SERVER_ENV, TEMPLATE_ENV, withClient } from './test-databases';

declare global {
  var __E2E_TEARDOWN__: (() => Promise<void>) | undefined;
}

async function migrate(url: string, embedded: boolean): Promise<void> {
  const dataSource = await new DataSource(buildDataSourceOptions({ url, embedded })).initialize();
  try {
    await runMigrationsLocked(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Migrates one template database; each e2e spec file then gets its own copy of it. */
export default async function globalSetup(): Promise<void> {
  process.env.NODE_ENV = 'test';
  const server = process.env.DATABASE_URL;
  if (server) {
    const template = `metering_template_${process.pid}`;
    await withClient(server, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${template}`);
      await c.query(`CREATE DATABASE ${template}`);
    });
    await migrate(databaseUrl(server, template), false);
    process.env[SERVER_ENV] = server;
    process.env[TEMPLATE_ENV] = template;
    globalThis.__E2E_TEARDOWN__ = () =>
      withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)).then(
        () => undefined,
      );
    return;
  }

  const template = await startEmbeddedPostgres({});
  await migrate(template.url, true);
  const dump = await template.dump();
  await template.stop();

  const databases = new Map<string, EmbeddedPostgres>();
  const control: Server = createServer((req, res) => {
    const reply = (status: number, body?: unknown) => {
      // No keep-alive: PGlite's WASM blocks this process' event loop for seconds at a time, after
      // which an idle socket's keep-alive timer fires before the request already waiting on it
      // is read, and the spec's POST fails with "other side closed" (fetch does not retry a POST).
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.method === 'POST' && req.url === '/databases') {
      startEmbeddedPostgres({ loadDataDir: dump }).then(
        (db) => {
          const id = randomUUID();
          databases.set(id, db);
          reply(201, { id, url: db.url });
        },
        (error: Error) => reply(500, { message: error.message }),
      );
      return;
    }
    const id = req.method === 'DELETE' ? req.url?.match(/^\/databases\/(.+)$/)?.[1] : undefined;
    const db = id ? databases.get(id) : undefined;
    if (!id || !db) return reply(404, {});
    databases.delete(id);
    db.stop().then(
      () => reply(204),
      () => reply(204),
    );
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  process.env[CONTROL_ENV] = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  globalThis.__E2E_TEARDOWN__ = async () => {
    control.closeAllConnections();
    await new Promise((resolve) => control.close(resolve));
    await Promise.all([...databases.values()].map((db) => db.stop().catch(() => undefined)));
  };
}
