// Secrets at rest: after a connect, a refresh and a widget read, no issued access token, refresh token,
// authorization code or client secret appears in plaintext in ANY table of the database (every schema: ours,
// pg-boss's, drizzle's), in the key-value store, in the logs or in any response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauthState, oauthStateBinding, refreshLock, syncPending, widgetCache, widgetFetchLock, widgetForcedRefresh } from '../../src/lib/kv-keys.js';
import { hashParams } from '../../src/modules/widgets/widget-cache.js';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let t: TestApp;
const responses: string[] = [];

beforeAll(async () => {
  fake = await startFakeGoogle({ email: 'cso@example.com' });
  t = await buildTestApp(providerEnvFor('GOOGLE', fake, GOOGLE_PATHS));
  t.app.addHook('onSend', async (_req, reply, payload) => {
    responses.push(JSON.stringify(reply.getHeaders()) + String(payload));
    return payload;
  });
  await t.app.ready();
  // pg-boss's schema and queues exist in every real deployment (main.ts starts the queue): scan them too.
  await t.deps.jobs.start();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

/** Every row of every table of every non-system schema, as text (partitions are read through their parent). */
async function dumpDatabase(): Promise<{ tables: string[]; text: string }> {
  const { rows: tables } = await t.deps.database.executeSql(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     ORDER BY 1, 2`,
  );
  const parts: string[] = [];
  for (const { schema, name } of tables as { schema: string; name: string }[]) {
    const quoted = `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;
    const { rows } = await t.deps.database.executeSql(`SELECT r::text AS row FROM ${quoted} r`);
    parts.push(`-- ${schema}.${name}`, ...rows.map((r: { row: string }) => r.row));
  }
  return { tables: tables.map((r: { schema: string; name: string }) => `${r.schema}.${r.name}`), text: parts.join('\n') };
}

/** Redis: every key under the hub's prefix, whatever its type. In memory: the keys this flow can have written. */
async function dumpStore(knownKeys: string[]): Promise<{ keys: string[]; text: string }> {
  const redis = t.deps.redis;
  const parts: string[] = [];
  const keys: string[] = [];
  if (redis) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', 'hub:v1:*', 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string' ? await redis.get(key)
        : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
        : type === 'list' ? JSON.stringify(await redis.lrange(key, 0, -1))
        : type === 'set' ? JSON.stringify(await redis.smembers(key))
        : type === 'zset' ? JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'))
        : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+'))
        : `(${type})`;
      parts.push(`${key} ${value}`);
    }
  } else {
    for (const key of knownKeys) {
      const value = await t.deps.kv.get(key);
      if (value !== null) {
        keys.push(key);
        parts.push(`${key} ${value}`);
      }
    }
  }
  return { keys, text: parts.join('\n') };
}

describe('secrets at rest', () => {
  it('no issued token, code or client secret in any table, the store, the logs or a response', async () => {
    const ws = t.newWorkspace();
    const issued: string[] = [fake.clientSecret];
    // The connect flow, step by step, to keep its state and code.
    const started = await startConnect(t, { workspaceId: ws, slug: 'google-calendar' });
    const { state } = started.json() as { state: string };
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    const callbackPath = await consentAtProvider(visit.providerUrl);
    issued.push(new URL(`http://hub${callbackPath}`).searchParams.get('code')!);
    const integrationId = resultOf(await callCallback(t, callbackPath, visit.cookie)).integrationId!;
    expect(integrationId).toMatch(/^conn_/);
    const grant = [...fake.grants.values()].at(-1)!;
    issued.push(grant.accessToken, grant.refreshToken!);

    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    issued.push(grant.accessToken);

    fake.events.push({ id: 'ev1', summary: 'Audit committee', start: { dateTime: new Date().toISOString() }, end: { dateTime: new Date(Date.now() + 3_600_000).toISOString() } });
    const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    const widget = await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data`, headers });
    expect(widget.statusCode).toBe(200);
    expect(widget.json().source).toBe('provider');
    // Anything issued since (a refresh on a 401, say) is a secret too.
    issued.push(grant.accessToken, grant.refreshToken!, ...grant.retiredRefreshTokens);
    const secrets = [...new Set(issued)];
    expect(secrets.every((s) => typeof s === 'string' && s.length >= 16)).toBe(true);

    const paramsHash = hashParams({ calendarId: 'primary', timeZone: 'UTC' });
    const store = await dumpStore([
      oauthState(state),
      oauthStateBinding(state),
      refreshLock(integrationId),
      syncPending(integrationId),
      ...['todays-meetings'].flatMap((w) => [widgetCache(integrationId, w, paramsHash), widgetFetchLock(integrationId, w, paramsHash), widgetForcedRefresh(integrationId, w, paramsHash)]),
    ]);
    const database = await dumpDatabase();
    const logs = t.logs.text();
    const sent = responses.join('\n');

    // The scans saw what they had to: the connection row (sealed credentials), pg-boss's tables, the cached widget.
    expect(database.tables).toEqual(expect.arrayContaining(['public.connections', 'public.audit_events', 'pgboss.job', 'pgboss.queue']));
    expect(database.text).toContain(integrationId);
    expect(database.text).toMatch(/v1\.[A-Za-z0-9_-]+/);
    expect(database.text).toContain('widgets.sync');
    expect(store.keys).toContain(widgetCache(integrationId, 'todays-meetings', paramsHash));
    expect(logs).toContain(integrationId);
    expect(sent).toContain('"source":"provider"');

    for (const secret of secrets) {
      expect(database.text.includes(secret), 'a secret is in the database').toBe(false);
      expect(store.text.includes(secret), 'a secret is in the key-value store').toBe(false);
      expect(logs.includes(secret), 'a secret is in the logs').toBe(false);
      expect(sent.includes(secret), 'a secret was sent in a response').toBe(false);
    }
  });
});
