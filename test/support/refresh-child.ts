// A second hub process for concurrency tests: builds the real deps from its environment, says READY,
// refreshes one connection when told "go" on stdin, prints the outcome as JSON and exits.
import { createInterface } from 'node:readline';
import { parseConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { createLogger } from '../../src/lib/logger.js';

const connectionId = process.argv[2]!;
const config = parseConfig(process.env);
const deps = await createDeps(config, createLogger({ level: 'warn', destination: process.stderr }));
process.stdout.write('READY\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== 'go') continue;
  const outcome = await deps.refresh.refresh(connectionId, { force: true });
  process.stdout.write(`${JSON.stringify({ outcome })}\n`);
  break;
}
await deps.close();
process.exit(0);
