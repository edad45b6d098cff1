// Runs before every test file: in the postgres-redis project the real servers must answer, never skip.
import { beforeAll } from 'vitest';

beforeAll(() => {
  if (process.env.HUB_TEST_BACKEND === 'postgres-redis' && !(process.env.DATABASE_URL && process.env.REDIS_URL)) {
    throw new Error('postgres-redis project without DATABASE_URL and REDIS_URL');
  }
});
