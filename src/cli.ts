import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfigModule } from './config/config.module';
import { loadEnvFile } from './config/env-file';
import { DatabaseModule } from './database/database.module';
import { MetricsModule } from './metrics/metrics.module';
import { normalizeEmail } from './users/email';
import { UsersModule } from './users/users.module';
import { UsersService } from './users/users.service';

/** Only what the commands need: configuration, the database (migrated, its pool metered) and accounts. */
@Module({ imports: [AppConfigModule, MetricsModule, DatabaseModule, UsersModule] })
class CliModule {}

const USAGE = `Usage: node dist/cli admin grant <email>
       node dist/cli admin revoke <email>
(npm run admin -- grant <email> from a checkout)`;

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The operator's commands: today, granting and revoking the platform admin flag. */
async function main(argv: string[]): Promise<number> {
  const [command, action, rawEmail] = argv;
  if (command !== 'admin' || (action !== 'grant' && action !== 'revoke') || !rawEmail) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  loadEnvFile();
  const email = normalizeEmail(rawEmail) as string;
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  try {
    const users = app.get(UsersService);
    if (action === 'grant') {
      const { granted } = await users.grantPlatformAdmin(email);
      say(granted ? `${email} is now a platform admin` : `${email} was a platform admin already`);
      return 0;
    }
    const user = await users.findByEmail(email);
    if (!user?.isPlatformAdmin) {
      say(`${email} is not a platform admin`);
      return 0;
    }
    await users.revokePlatformAdmin(user.id);
    say(`${email} is no longer a platform admin`);
    return 0;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
