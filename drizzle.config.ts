// drizzle-kit: generates SQL migrations into src/db/migrations from the schema (`pnpm db:generate --name <what>`).
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './src/db/migrations',
  strict: true,
});
