// The operator CLI: `hub token`, `hub migrate` (and, as the hub grows, key rotation and replays).
import { parseArgs } from 'node:util';
import { boot } from './boot.js';
import { ADMIN_SCOPE, mintToken } from './modules/auth/auth.service.js';

// The database side is loaded only by the commands that need it: `hub token` stays quick.
const database = () => Promise.all([import('./db/database.js'), import('./db/migrate.js')]);

const USAGE = `Usage: hub <command> [options]

Commands:
  token --workspace <id> [--workspace <id> …] [--admin] [--subject <sub>] [--ttl <seconds>]
        Print a development bearer token (HS256, signed with AUTH_JWT_SECRET).
  migrate
        Apply the database migrations (also done at every start).
  keys rotate [--batch-size <n>]
        Re-encrypt every connection's credentials and data key under TOKEN_ENCRYPTION_KEY. Keep the old
        key in TOKEN_ENCRYPTION_KEYS_PREVIOUS until this reports 0 failed and 0 skipped. Safe while the hub
        runs; run it again to resume.
`;

async function token(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      workspace: { type: 'string', multiple: true },
      admin: { type: 'boolean', default: false },
      subject: { type: 'string', default: 'dev-cli' },
      ttl: { type: 'string', default: '43200' },
    },
  });
  const { config } = boot(process.env, { logToStderr: true });
  if (!config.auth.jwtSecret) {
    throw new Error('AUTH_JWKS_URL is set: tokens come from your identity provider, not from this command.');
  }
  if (!values.workspace?.length && !values.admin) throw new Error('Give --workspace <id> (or --admin).');
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error('--ttl must be a positive number of seconds.');
  const jwt = await mintToken({
    secret: config.auth.jwtSecret,
    audience: config.auth.audience,
    issuer: config.auth.issuer,
    subject: values.subject,
    workspaces: values.workspace,
    scope: values.admin ? ADMIN_SCOPE : undefined,
    ttlSeconds,
  });
  process.stdout.write(`${jwt}\n`);
}

async function migrate() {
  const { config, logger } = boot(process.env, { logToStderr: true });
  const [{ createDatabase }, { runMigrations }] = await database();
  const db = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await runMigrations(db);
    logger.info({ database: db.kind }, 'migrations applied');
  } finally {
    await db.close();
  }
}

async function rotateKeys(args: string[]) {
  const { values } = parseArgs({ args, options: { 'batch-size': { type: 'string', default: '200' } } });
  const { config, logger } = boot(process.env, { logToStderr: true });
  if (!config.encryption.currentKey) throw new Error('TOKEN_ENCRYPTION_KEY is not set.');
  const [[{ createDatabase }, { runMigrations }], { createKeyRotation }, { createKeyRing }, { createVault }] = await Promise.all([
    database(),
    import('./modules/vault/key-rotation.service.js'),
    import('./modules/vault/keyring.js'),
    import('./modules/vault/vault.service.js'),
  ]);
  const vault = createVault({ keyRing: createKeyRing({ currentKey: config.encryption.currentKey, previousKeys: config.encryption.previousKeys }) });
  const db = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await runMigrations(db);
    const result = await createKeyRotation({ db: db.db, vault, logger }).rotateAll({ batchSize: Number(values['batch-size']) });
    process.stdout.write(`key ${vault.currentKeyId}: ${result.rotated} rotated, ${result.secretsRotated} webhook secrets rotated, ${result.skipped} skipped, ${result.failed} failed\n`);
    if (result.failed > 0 || result.skipped > 0) process.exitCode = 1;
  } finally {
    await db.close();
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'token') await token(rest);
  else if (command === 'migrate') await migrate();
  else if (command === 'keys' && rest[0] === 'rotate') await rotateKeys(rest.slice(1));
  else {
    process.stderr.write(USAGE);
    process.exit(command && command !== 'help' && command !== '--help' ? 2 : 0);
  }
} catch (error) {
  process.stderr.write(`hub ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
