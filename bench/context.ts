import { Client } from 'pg';
import { BenchOptions } from './config';
import { Progress } from './progress';
import { BenchServer } from './server';
import { BenchSetup } from './setup';

/** What every scenario may use; built once by run.ts. */
export interface BenchContext {
  options: BenchOptions;
  server: BenchServer;
  setup: BenchSetup;
  /** A connection to the bench database, for the COPY baseline, the seed and the checks. */
  db: Client;
  progress: Progress;
}

/** The API key's headers, as a customer's backend sends them. */
export function keyHeaders(ctx: BenchContext, json = false): Record<string, string> {
  return {
    'x-api-key': ctx.setup.apiKey,
    ...(json ? { 'content-type': 'application/json' } : {}),
  };
}
