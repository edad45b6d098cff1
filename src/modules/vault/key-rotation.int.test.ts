// rotateAll on a real database: rotates stale rows once, resumes after an interruption, never overwrites a concurrent write, survives bad rows.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/database.js';
import { auditEvents, connections, webhookSubscriptions, type ConnectionRow } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { createLogger } from '../../lib/logger.js';
import { openTestDatabase } from '../../../test/support/database.js';
import { createKeyRing } from './keyring.js';
import { createKeyRotation, type RotationProgress } from './key-rotation.service.js';
import { createVault, type Vault } from './vault.service.js';

const hexKey = () => randomBytes(32).toString('hex');

class Lines extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.text += chunk.toString('utf8');
    done();
  }
}

let database: Database;
const workspaces: string[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
});

afterAll(async () => {
  if (!database) return;
  if (workspaces.length > 0) {
    await database.db.delete(auditEvents).where(inArray(auditEvents.workspaceId, workspaces));
    await database.db.delete(connections).where(inArray(connections.workspaceId, workspaces));
  }
  await database.close();
});

/** An old key that sealed the existing rows, a new current key, and the vaults on either side of the change. */
function keyChange() {
  const oldKey = hexKey();
  const newKey = hexKey();
  const before = createVault({ keyRing: createKeyRing({ currentKey: oldKey, previousKeys: [] }) });
  const after = createVault({ keyRing: createKeyRing({ currentKey: newKey, previousKeys: [oldKey] }) });
  const newOnly = createVault({ keyRing: createKeyRing({ currentKey: newKey, previousKeys: [] }) });
  const lines = new Lines();
  const rotation = createKeyRotation({ db: database.db, vault: after, logger: createLogger({ level: 'debug', destination: lines }) });
  const workspaceId = `ws_rot_${randomUUID()}`;
  workspaces.push(workspaceId);
  return { before, after, newOnly, rotation, lines, workspaceId };
}

interface Seeded {
  id: string;
  tokens: { access_token: string; refresh_token: string };
  dataKey: Buffer;
}

/** Inserts connections the way the connect flow does: credentials and a data key sealed by `vault`. */
async function seed(vault: Vault, workspaceId: string, count: number): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  for (let i = 0; i < count; i++) {
    const id = newId('connection');
    const tokens = { access_token: `at-${randomUUID()}`, refresh_token: `rt-${randomUUID()}` };
    const credentials = vault.seal(id, 'credentials', tokens);
    const dataKey = vault.createDataKey(id);
    await database.db.insert(connections).values({
      id,
      workspaceId,
      integration: 'slack',
      externalAccountId: `T${i}-${randomUUID()}`,
      credentials: credentials.ciphertext,
      credentialsKeyId: credentials.keyId,
      credentialsVersion: 3,
      dataKey: dataKey.wrapped,
    });
    seeded.push({ id, tokens, dataKey: dataKey.key });
  }
  return seeded;
}

async function rowsOf(workspaceId: string): Promise<Map<string, ConnectionRow>> {
  const rows = await database.db.select().from(connections).where(eq(connections.workspaceId, workspaceId));
  return new Map(rows.map((r) => [r.id, r]));
}

async function auditOf(workspaceId: string) {
  return database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.workspaceId, workspaceId), eq(auditEvents.action, 'key_rotated')));
}

/** A credentials write as the refresh flow does it: compare-and-set on the version it read, bumping it. */
async function writeCredentials(vault: Vault, id: string, readVersion: number, tokens: object): Promise<number> {
  const sealed = vault.seal(id, 'credentials', tokens);
  const updated = await database.db
    .update(connections)
    .set({ credentials: sealed.ciphertext, credentialsKeyId: sealed.keyId, credentialsVersion: sql`${connections.credentialsVersion} + 1` })
    .where(and(eq(connections.id, id), eq(connections.credentialsVersion, readVersion)))
    .returning({ id: connections.id });
  return updated.length;
}

describe('key rotation', () => {
  it('re-encrypts credentials and data keys under the current key, once, with an audit event each', async () => {
    const { before, after, newOnly, rotation, workspaceId } = keyChange();
    const stale = await seed(before, workspaceId, 4);
    const [alreadyCurrent] = await seed(after, workspaceId, 1);
    const untouched = (await rowsOf(workspaceId)).get(alreadyCurrent!.id)!;

    const result = await rotation.rotateAll({ batchSize: 3 });
    // Only this test's keys open these rows: other tests' rows in a shared database count as failed, never as rotated.
    expect(result.rotated).toBe(stale.length);

    const rows = await rowsOf(workspaceId);
    for (const s of stale) {
      const row = rows.get(s.id)!;
      expect(row.credentialsKeyId).toBe(after.currentKeyId);
      expect(newOnly.isCurrent(row.credentials!)).toBe(true);
      expect(newOnly.isCurrent(row.dataKey!)).toBe(true);
      // The retired key is no longer needed to read anything.
      expect(newOnly.open(s.id, 'credentials', row.credentials!)).toEqual(s.tokens);
      expect(newOnly.unwrapDataKey(s.id, row.dataKey!).equals(s.dataKey)).toBe(true);
      expect(row.credentialsVersion).toBe(3);
    }
    expect(rows.get(alreadyCurrent!.id)).toEqual(untouched);

    const audit = await auditOf(workspaceId);
    expect(audit.map((a) => a.connectionId).sort()).toEqual(stale.map((s) => s.id).sort());
    for (const a of audit) {
      expect(a.detail).toEqual({ keyId: after.currentKeyId });
      expect(a.integration).toBe('slack');
    }

    const second = await rotation.rotateAll();
    expect(second.rotated).toBe(0);
    expect(await rowsOf(workspaceId)).toEqual(rows);
    expect(await auditOf(workspaceId)).toHaveLength(stale.length);
  });

  it('rotates a row whose data key or credentials alone are stale, and one with no credentials left', async () => {
    const { before, after, newOnly, rotation, workspaceId } = keyChange();
    const [dataKeyStale, credentialsStale, noCredentials] = await seed(after, workspaceId, 3);
    const oldDataKey = before.createDataKey(dataKeyStale!.id);
    await database.db.update(connections).set({ dataKey: oldDataKey.wrapped }).where(eq(connections.id, dataKeyStale!.id));
    const oldCredentials = before.seal(credentialsStale!.id, 'credentials', credentialsStale!.tokens);
    await database.db
      .update(connections)
      .set({ credentials: oldCredentials.ciphertext, credentialsKeyId: oldCredentials.keyId })
      .where(eq(connections.id, credentialsStale!.id));
    const oldOrphanKey = before.createDataKey(noCredentials!.id);
    await database.db
      .update(connections)
      .set({ credentials: null, credentialsKeyId: null, dataKey: oldOrphanKey.wrapped })
      .where(eq(connections.id, noCredentials!.id));
    const snapshot = await rowsOf(workspaceId);

    expect((await rotation.rotateAll()).rotated).toBe(3);

    const rows = await rowsOf(workspaceId);
    const a = rows.get(dataKeyStale!.id)!;
    expect(a.credentials).toBe(snapshot.get(dataKeyStale!.id)!.credentials);
    expect(newOnly.unwrapDataKey(a.id, a.dataKey!).equals(oldDataKey.key)).toBe(true);
    const b = rows.get(credentialsStale!.id)!;
    expect(b.dataKey).toBe(snapshot.get(credentialsStale!.id)!.dataKey);
    expect(b.credentialsKeyId).toBe(after.currentKeyId);
    expect(newOnly.open(b.id, 'credentials', b.credentials!)).toEqual(credentialsStale!.tokens);
    const c = rows.get(noCredentials!.id)!;
    expect(c.credentials).toBeNull();
    expect(c.credentialsKeyId).toBeNull();
    expect(newOnly.unwrapDataKey(c.id, c.dataKey!).equals(oldOrphanKey.key)).toBe(true);
  });

  it('resumes after an interrupted run without redoing what was done', async () => {
    const { before, after, newOnly, rotation, workspaceId } = keyChange();
    const seeded = await seed(before, workspaceId, 5);
    const mine = new Set(seeded.map((s) => s.id));

    await expect(
      rotation.rotateAll({
        batchSize: 1,
        onProgress: (p: RotationProgress) => {
          if (p.outcome === 'rotated' && mine.has(p.connectionId)) throw new Error('operator pressed Ctrl-C');
        },
      }),
    ).rejects.toThrow('operator pressed Ctrl-C');

    const halfway = await rowsOf(workspaceId);
    const done = seeded.filter((s) => after.isCurrent(halfway.get(s.id)!.credentials!));
    expect(done).toHaveLength(1);
    expect(done[0]!.id).toBe(seeded[0]!.id);

    const resumed = await rotation.rotateAll({ batchSize: 2 });
    expect(resumed.rotated).toBe(4);
    const rows = await rowsOf(workspaceId);
    for (const s of seeded) {
      expect(newOnly.open(s.id, 'credentials', rows.get(s.id)!.credentials!)).toEqual(s.tokens);
      expect(newOnly.isCurrent(rows.get(s.id)!.dataKey!)).toBe(true);
    }
    // The row rotated before the interruption was not rotated again.
    expect(rows.get(seeded[0]!.id)!.credentials).toBe(halfway.get(seeded[0]!.id)!.credentials);
    expect((await auditOf(workspaceId)).map((a) => a.connectionId).sort()).toEqual([...mine].sort());
  });

  it('never overwrites credentials written between its read and its write', async () => {
    const { before, after, newOnly, rotation, workspaceId } = keyChange();
    const [first, byOldInstance, byNewInstance, reconnected] = await seed(before, workspaceId, 4);
    const rotatedTokens = { access_token: `at-${randomUUID()}`, refresh_token: `rt-${randomUUID()}` };
    const refreshedTokens = { access_token: `at-${randomUUID()}`, refresh_token: `rt-${randomUUID()}` };
    const reconnectedTokens = { access_token: `at-${randomUUID()}`, refresh_token: `rt-${randomUUID()}` };
    const reconnectedDataKey = after.createDataKey(reconnected!.id);
    const outcomes: Array<[string, string]> = [];

    // One batch holds all four rows, so the writes below land after the run has read them and before it writes them.
    const result = await rotation.rotateAll({
      batchSize: 100_000,
      onProgress: async (p) => {
        outcomes.push([p.connectionId, p.outcome]);
        if (p.connectionId !== first!.id || p.outcome !== 'rotated') return;
        // A hub instance still on the old key refreshes one connection; one already on the new key, another.
        expect(await writeCredentials(before, byOldInstance!.id, 3, rotatedTokens)).toBe(1);
        expect(await writeCredentials(after, byNewInstance!.id, 3, refreshedTokens)).toBe(1);
        // A reconnect on the new key replaces both the credentials and the data key.
        expect(await writeCredentials(after, reconnected!.id, 3, reconnectedTokens)).toBe(1);
        await database.db.update(connections).set({ dataKey: reconnectedDataKey.wrapped }).where(eq(connections.id, reconnected!.id));
      },
    });
    const written = await rowsOf(workspaceId);

    const outcomesOf = (id: string) => outcomes.filter(([c]) => c === id).map(([, o]) => o);
    expect(outcomesOf(first!.id)).toEqual(['rotated']);
    expect(outcomesOf(byOldInstance!.id)).toEqual(['conflict', 'rotated']);
    // Re-read: its credentials were current by then, its data key was not.
    expect(outcomesOf(byNewInstance!.id)).toEqual(['conflict', 'rotated']);
    // Re-read: nothing stale was left, so it dropped out.
    expect(outcomesOf(reconnected!.id)).toEqual(['conflict']);
    expect(result).toMatchObject({ rotated: 3, skipped: 0 });

    const open = (id: string) => newOnly.open(id, 'credentials', written.get(id)!.credentials!);
    expect(open(first!.id)).toEqual(first!.tokens);
    // The old instance's write was re-read and rotated with its new tokens, not with the ones read first.
    expect(open(byOldInstance!.id)).toEqual(rotatedTokens);
    expect(open(byNewInstance!.id)).toEqual(refreshedTokens);
    expect(open(reconnected!.id)).toEqual(reconnectedTokens);
    expect(written.get(reconnected!.id)!.dataKey).toBe(reconnectedDataKey.wrapped);
    for (const s of [first!, byOldInstance!, byNewInstance!]) {
      expect(newOnly.unwrapDataKey(s.id, written.get(s.id)!.dataKey!).equals(s.dataKey)).toBe(true);
    }
    for (const s of [byOldInstance!, byNewInstance!, reconnected!]) expect(written.get(s.id)!.credentialsVersion).toBe(4);
    expect((await auditOf(workspaceId)).map((a) => a.connectionId).sort()).toEqual([first!.id, byOldInstance!.id, byNewInstance!.id].sort());
  });

  it('leaves a refresh that read the row before the rotation able to store its new tokens', async () => {
    const { before, after, newOnly, rotation, workspaceId } = keyChange();
    const [s] = await seed(before, workspaceId, 1);
    const readByRefresh = (await rowsOf(workspaceId)).get(s!.id)!.credentialsVersion;

    expect((await rotation.rotateAll()).rotated).toBe(1);

    // The provider has already rotated the refresh token: losing this write would lose the grant.
    const fresh = { access_token: `at-${randomUUID()}`, refresh_token: `rt-${randomUUID()}` };
    expect(await writeCredentials(after, s!.id, readByRefresh, fresh)).toBe(1);
    expect(newOnly.open(s!.id, 'credentials', (await rowsOf(workspaceId)).get(s!.id)!.credentials!)).toEqual(fresh);
  });

  it('does not bring back credentials cleared by a disconnect during the run', async () => {
    const { before, rotation, workspaceId } = keyChange();
    const [first, disconnected] = await seed(before, workspaceId, 2);

    await rotation.rotateAll({
      batchSize: 100_000,
      onProgress: async (p) => {
        if (p.connectionId !== first!.id) return;
        // A disconnect that clears the secrets without touching credentials_version.
        await database.db
          .update(connections)
          .set({ status: 'disconnected', credentials: null, credentialsKeyId: null, dataKey: null })
          .where(eq(connections.id, disconnected!.id));
      },
    });

    const row = (await rowsOf(workspaceId)).get(disconnected!.id)!;
    expect(row.credentials).toBeNull();
    expect(row.dataKey).toBeNull();
    expect((await auditOf(workspaceId)).map((a) => a.connectionId)).toEqual([first!.id]);
  });

  it('counts rows it cannot decrypt as failed, logs only their ids, and rotates the rest', async () => {
    const { before, after, newOnly, rotation, lines, workspaceId } = keyChange();
    const [good1, flipped, copied, unknownKey, badDataKey, good2] = await seed(before, workspaceId, 6);
    const original = await rowsOf(workspaceId);

    const flip = (ciphertext: string) => {
      const parts = ciphertext.split('.');
      const data = Buffer.from(parts[4]!, 'base64url');
      data[0] = data[0]! ^ 0x01;
      parts[4] = data.toString('base64url');
      return parts.join('.');
    };
    const foreign = createVault({ keyRing: createKeyRing({ currentKey: hexKey(), previousKeys: [] }) }).seal(unknownKey!.id, 'credentials', {
      access_token: 'x',
    });
    const bad: Array<[string, Partial<ConnectionRow>]> = [
      [flipped!.id, { credentials: flip(original.get(flipped!.id)!.credentials!) }],
      // Another connection's ciphertext pasted into this row.
      [copied!.id, { credentials: original.get(good1!.id)!.credentials }],
      [unknownKey!.id, { credentials: foreign.ciphertext, credentialsKeyId: foreign.keyId }],
      [badDataKey!.id, { dataKey: flip(original.get(badDataKey!.id)!.dataKey!) }],
    ];
    for (const [id, set] of bad) await database.db.update(connections).set(set).where(eq(connections.id, id));
    const tamperedRows = await rowsOf(workspaceId);

    const failedIds: string[] = [];
    const result = await rotation.rotateAll({
      batchSize: 2,
      onProgress: (p) => {
        if (p.outcome === 'failed') failedIds.push(p.connectionId);
      },
    });

    expect(result.rotated).toBe(2);
    expect(result.failed).toBeGreaterThanOrEqual(4);
    expect(failedIds).toEqual(expect.arrayContaining(bad.map(([id]) => id)));

    const rows = await rowsOf(workspaceId);
    for (const [id] of bad) expect(rows.get(id)).toEqual(tamperedRows.get(id));
    for (const s of [good1!, good2!]) expect(newOnly.open(s.id, 'credentials', rows.get(s.id)!.credentials!)).toEqual(s.tokens);
    expect((await auditOf(workspaceId)).map((a) => a.connectionId).sort()).toEqual([good1!.id, good2!.id].sort());

    for (const [id] of bad) expect(lines.text).toContain(id);
    expect(lines.text).toContain('"reason":"unknown_key"');
    expect(lines.text).toContain('"reason":"tampered"');
    for (const row of tamperedRows.values()) {
      expect(lines.text).not.toContain(row.credentials!.split('.')[4]);
      expect(lines.text).not.toContain(row.dataKey!.split('.')[4]);
    }
    expect(lines.text).not.toMatch(/at-[0-9a-f-]{36}|rt-[0-9a-f-]{36}/);
    // A bad row is skipped, not retried forever: the run ended, and a second one fails it again without harm.
    expect((await rotation.rotateAll()).rotated).toBe(0);
    expect(after.isCurrent(rows.get(good2!.id)!.dataKey!)).toBe(true);
  });
});

describe('webhook subscription secrets', () => {
  it('are re-sealed under the current key too, and still open to the same secret', async () => {
    const { before, after, newOnly, rotation, workspaceId } = keyChange();
    const [connection] = await seed(before, workspaceId, 1);
    const secret = `clientState-${randomUUID()}`;
    const sealed = before.seal(connection!.id, 'webhook-secret', secret);
    const id = newId('webhookSubscription');
    await database.db.insert(webhookSubscriptions).values({
      id, connectionId: connection!.id, connector: 'microsoft-teams', externalId: `sub-${randomUUID()}`, resource: '/me/events', status: 'active', secret: sealed.ciphertext, secretKeyId: sealed.keyId,
    });

    const result = await rotation.rotateAll();
    expect(result.secretsRotated).toBeGreaterThanOrEqual(1);
    const [row] = await database.db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
    expect(row!.secretKeyId).toBe(after.currentKeyId);
    expect(row!.secret).not.toBe(sealed.ciphertext);
    expect(newOnly.open(connection!.id, 'webhook-secret', row!.secret)).toBe(secret);
    // Bound to its connection: the same ciphertext does not open as another connection's secret.
    expect(() => newOnly.open(newId('connection'), 'webhook-secret', row!.secret)).toThrow();
  });
});
