// The contract every registered connector keeps; a connector added to the registry is checked here automatically.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { knownVariables, providerVariables, type ProviderEnv } from '../config.js';
import { resolveEndpoints } from './endpoints.js';
import { connectors, getConnector } from './index.js';
import { CATEGORIES, ROLES, oauth2Of, type ConnectorDefinition } from './types.js';

/** SEED.md's connector sections, in its order: "Common (All Executive Types)", "CTO", "CFO". */
const SEED_ROLES: Record<string, string[]> = {
  slack: ['common'],
  'google-calendar': ['common'],
  'microsoft-teams': ['common'],
  notion: ['common'],
  asana: ['common'],
  github: ['cto'],
  gitlab: ['cto'],
  jira: ['cto'],
  datadog: ['cto'],
  quickbooks: ['cfo'],
  xero: ['cfo'],
  stripe: ['cfo'],
};

const connectorsDir = dirname(fileURLToPath(import.meta.url));
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** A provider env with a client id and each placeholder's example, as a configured deployment has them. */
function exampleEnv(c: ConnectorDefinition): { env: ProviderEnv; metadata: Record<string, string> } {
  const extra: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  for (const p of Object.values(c.placeholders ?? {})) {
    if (p.metadata) metadata[p.metadata] = p.example;
    else if (p.env) extra[p.env] = p.example;
  }
  return { env: { clientId: 'example-client-id', clientSecret: 'example-secret', extra }, metadata };
}

function templates(c: ConnectorDefinition): string[] {
  const oauth = oauth2Of(c);
  return [c.api.baseUrl, oauth?.authorizeUrl, oauth?.tokenUrl, oauth?.revokeUrl].filter((u): u is string => !!u);
}

describe('connector registry', () => {
  it('registers SEED.md connectors first, in SEED.md order', () => {
    expect(connectors.slice(0, Object.keys(SEED_ROLES).length).map((c) => c.slug)).toEqual(Object.keys(SEED_ROLES));
  });

  it('has unique slugs and env prefixes', () => {
    const slugs = connectors.map((c) => c.slug);
    const prefixes = connectors.map((c) => c.envPrefix);
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(new Set(prefixes).size).toBe(prefixes.length);
  });

  it('has one folder per connector and no folder outside the registry', () => {
    const folders = readdirSync(connectorsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(folders).toEqual(connectors.map((c) => c.slug).sort());
  });

  it('gives every environment variable exactly one owner', () => {
    const names = connectors.flatMap((c) => [
      ...Object.values(providerVariables(c.envPrefix)),
      ...Object.keys(c.extraEnv ?? {}),
    ]);
    expect(new Set(names).size).toBe(names.length);
    expect(knownVariables()).toEqual(expect.arrayContaining(names));
  });

  it('finds connectors by slug and nothing else', () => {
    for (const c of connectors) expect(getConnector(c.slug)).toBe(c);
    expect(getConnector('nope')).toBeUndefined();
    expect(getConnector('toString')).toBeUndefined();
  });
});

describe.each(connectors.map((c) => [c.slug, c] as const))('connector %s', (slug, c) => {
  it('is exported as `connector` from its own folder', async () => {
    const file = pathToFileURL(join(connectorsDir, slug, 'index.ts')).href;
    const mod = (await import(/* @vite-ignore */ file)) as { connector: ConnectorDefinition };
    expect(mod.connector).toBe(c);
  });

  it('has a kebab-case slug, an upper-case env prefix, a name and a category', () => {
    expect(slug).toMatch(KEBAB);
    expect(c.envPrefix).toMatch(/^[A-Z][A-Z0-9]*$/);
    expect(c.name.trim()).not.toBe('');
    expect(CATEGORIES).toContain(c.category);
  });

  it('has the roles SEED.md gives it', () => {
    expect(c.roles.length).toBeGreaterThan(0);
    expect(new Set(c.roles).size).toBe(c.roles.length);
    for (const role of c.roles) expect(ROLES).toContain(role);
    if (SEED_ROLES[slug]) expect(c.roles).toEqual(SEED_ROLES[slug]);
  });

  it('names its extra variables after its prefix and describes them', () => {
    for (const [name, description] of Object.entries(c.extraEnv ?? {})) {
      expect(name).toMatch(new RegExp(`^${c.envPrefix}_[A-Z0-9_]+$`));
      expect(description.trim()).not.toBe('');
    }
  });

  it('declares exactly the placeholders its URLs use, each with a source', () => {
    const used = new Set(templates(c).flatMap((u) => [...u.matchAll(PLACEHOLDER)].map((m) => m[1])));
    used.delete('clientId');
    expect([...used].sort()).toEqual(Object.keys(c.placeholders ?? {}).sort());
    for (const p of Object.values(c.placeholders ?? {})) {
      expect(p.metadata ?? p.env ?? p.default).toBeDefined();
      if (p.env) expect(Object.keys(c.extraEnv ?? {})).toContain(p.env);
      if (p.values) expect(p.values).toContain(p.example);
      if (p.values && p.default) expect(p.values).toContain(p.default);
    }
  });

  it('has absolute https URLs once placeholders are filled', () => {
    const { env, metadata } = exampleEnv(c);
    const resolved = resolveEndpoints(c, env, metadata);
    const urls = [c.docsUrl, ...Object.values(resolved).filter((u): u is string => typeof u === 'string')];
    expect(urls.length).toBeGreaterThan(1);
    for (const url of urls) {
      expect(url).not.toMatch(/[{}]/);
      const parsed = new URL(url);
      expect(parsed.protocol).toBe('https:');
      expect(parsed.username + parsed.password).toBe('');
    }
    const oauth = oauth2Of(c);
    expect(Boolean(resolved.authorizeUrl && resolved.tokenUrl)).toBe(Boolean(oauth));
    expect(Boolean(resolved.revokeUrl)).toBe(Boolean(oauth?.revokeUrl));
  });

  it('requests default scopes that are all available, without duplicates', () => {
    const oauth = oauth2Of(c);
    if (!oauth) return expect(c.auth.type).toBe('apiKey');
    const { default: defaults, available } = oauth.scopes;
    expect(new Set(available).size).toBe(available.length);
    expect(new Set(defaults).size).toBe(defaults.length);
    for (const scope of defaults) expect(available).toContain(scope);
    for (const scope of available) expect(scope).not.toMatch(/[\s,]/);
  });

  it('describes how to revoke only where there is a revocation URL', () => {
    const oauth = oauth2Of(c);
    if (oauth?.revoke) expect(oauth.revokeUrl).toBeDefined();
  });

  it('declares API-key fields that can be filled in and keeps secrets out of URLs', () => {
    if (c.auth.type !== 'apiKey') return expect(c.auth.type).toBe('oauth2');
    const fields = c.auth.fields;
    expect(fields.length).toBeGreaterThan(0);
    expect(new Set(fields.map((f) => f.name)).size).toBe(fields.length);
    expect(fields.some((f) => f.secret)).toBe(true);
    for (const f of fields) {
      expect(f.label.trim()).not.toBe('');
      if (f.enum) expect(f.enum.length).toBeGreaterThan(0);
    }
    // A placeholder filled from a credential field must be a non-secret one: URLs end up in logs.
    for (const p of Object.values(c.placeholders ?? {})) {
      const field = fields.find((f) => f.name === p.metadata);
      if (field) expect(field.secret).toBe(false);
    }
  });

  it('gives a usable rate-limit hint', () => {
    const { points, windowSeconds } = c.api.rateLimit;
    expect(Number.isInteger(points) && points > 0).toBe(true);
    expect(Number.isInteger(windowSeconds) && windowSeconds > 0).toBe(true);
  });

  it('declares widgets the catalog can describe and the connection can serve', () => {
    // An executive dashboard wants at least two views of every tool.
    expect(Object.keys(c.widgets).length).toBeGreaterThanOrEqual(2);
    const available = oauth2Of(c)?.scopes.available ?? [];
    for (const [id, w] of Object.entries(c.widgets)) {
      expect(id).toMatch(KEBAB);
      expect(w.ttlSeconds).toBeGreaterThan(0);
      for (const scope of w.scopes) expect(available).toContain(scope);
      expect(() => z.toJSONSchema(w.params)).not.toThrow();
      expect(['metric', 'list', 'timeseries', 'table']).toContain(w.kind);
      expect(typeof w.fetch).toBe('function');
      expect(w.title.length).toBeGreaterThan(0);
    }
  });
});
