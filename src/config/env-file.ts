import { config } from 'dotenv';

/**
 * Reads `.env` into the environment for the commands that run without the app's ConfigModule
 * (migrations, the admin command), as the app does at start: variables already set win.
 */
export function loadEnvFile(): void {
  if (process.env.NODE_ENV !== 'test') config({ quiet: true });
}
