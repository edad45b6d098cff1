// Two projects run the same suites: on the embedded backends (PGlite, in-memory store) and, when
// DATABASE_URL and REDIS_URL are set, on real PostgreSQL and Redis. In CI the second one is mandatory.
import { defineConfig } from 'vitest/config';

const realBackends = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
if (process.env.CI && !realBackends) {
  throw new Error('CI must run the suites on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL');
}

const shared = {
  include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  setupFiles: ['test/support/setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  allowOnly: false,
};

export default defineConfig({
  test: {
    // PGlite takes ~700 MB and a core per instance: keep the number of files running at once small.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          ...shared,
          name: 'embedded',
          env: { DATABASE_URL: '', REDIS_URL: '', HUB_TEST_BACKEND: 'embedded' },
        },
      },
      ...(realBackends
        ? [
            {
              test: {
                ...shared,
                name: 'postgres-redis',
                env: { HUB_TEST_BACKEND: 'postgres-redis' },
              },
            },
          ]
        : []),
    ],
  },
});
