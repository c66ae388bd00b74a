import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Where e2e specs get their own database. On a server (`DATABASE_URL` set), a
 * `CREATE DATABASE ... TEMPLATE` copy of a migrated template, made in milliseconds. Without one,
 * a fresh PGlite loaded from a migrated dump, served by the global setup's control server
 * (PGlite must run outside jest's sandbox).
 */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export const TEMPLATE_ENV = 'TEST_TEMPLATE_DATABASE';
export const CONTROL_ENV = 'TEST_PGLITE_CONTROL_URL';
export const SERVER_ENV = 'TEST_DATABASE_SERVER_URL';

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const server = process.env[SERVER_ENV];
  if (server) {
    const template = process.env[TEMPLATE_ENV]!;
    const name = `metering_test_${randomBytes(6).toString('hex')}`;
    await withClient(server, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
    return {
      url: databaseUrl(server, name),
      drop: () =>
        withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
          () => undefined,
        ),
    };
  }
  const control = process.env[CONTROL_ENV];
  if (!control) throw new Error('The jest global setup did not run');
  const created = (await (await fetch(`${control}/databases`, { method: 'POST' })).json()) as {
    id: string;
    url: string;
  };
  return {
    url: created.url,
    drop: async () => {
      await fetch(`${control}/databases/${created.id}`, { method: 'DELETE' });
    },
  };
}
