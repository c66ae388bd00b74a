import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AppModule } from './app.module';
import { createOpenApiDocument, serializeOpenApiDocument } from './openapi';
import { PLUGIN_METADATA_FILE, renderPluginMetadata } from './openapi-metadata';

/** The committed files, relative to the repository root. */
export const OPENAPI_FILES = {
  /** What the @nestjs/swagger CLI plugin reads from the DTOs' types (see openapi-metadata.ts). */
  metadata: PLUGIN_METADATA_FILE,
  document: 'openapi.json',
  /** The types of a client generated from the document (openapi-typescript, for openapi-fetch). */
  types: 'test/support/openapi-types.ts',
} as const;

const ROOT = resolve(__dirname, '..');

/**
 * The two files as the code stands, built without starting anything: Nest's preview mode resolves
 * the modules and routes but creates no provider, so no database or Redis is needed.
 */
export async function renderOpenApiFiles(
  metadata = renderPluginMetadata(ROOT),
): Promise<Record<keyof typeof OPENAPI_FILES, string>> {
  const app = await NestFactory.create(AppModule, { preview: true, logger: false });
  let document: string;
  try {
    document = serializeOpenApiDocument(await createOpenApiDocument(app));
  } finally {
    await app.close();
  }
  return { metadata, document, types: clientTypesOf(document) };
}

/**
 * openapi-typescript's CLI over the document, in a process of its own: the package loads ESM-only
 * dependencies, which jest's module system (the drift check runs under it) cannot require.
 */
function clientTypesOf(document: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, document);
    const cli = join(dirname(require.resolve('openapi-typescript/package.json')), 'bin/cli.js');
    return execFileSync(process.execPath, [cli, file], { encoding: 'utf8', stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What is committed now, to compare with renderOpenApiFiles(). */
export function readOpenApiFiles(): Record<keyof typeof OPENAPI_FILES, string> {
  const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');
  return {
    metadata: read(OPENAPI_FILES.metadata),
    document: read(OPENAPI_FILES.document),
    types: read(OPENAPI_FILES.types),
  };
}

/** `npm run openapi`: writes openapi.json and the client types; openapi.spec.ts checks them. */
if (require.main === module) {
  // The metadata first: the document is built from it (imported by createOpenApiDocument).
  const metadata = renderPluginMetadata(ROOT);
  writeFileSync(resolve(ROOT, PLUGIN_METADATA_FILE), metadata);
  renderOpenApiFiles(metadata)
    .then((files) => {
      for (const name of Object.keys(OPENAPI_FILES) as (keyof typeof OPENAPI_FILES)[])
        writeFileSync(resolve(ROOT, OPENAPI_FILES[name]), files[name]);
    })
    .catch((error: Error) => {
      console.error(error.stack ?? error.message);
      process.exit(1);
    });
}
