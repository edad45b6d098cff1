import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyChild, redactUrl } from './logger.js';

describe('redactUrl', () => {
  it('hides sensitive query values and keeps the rest', () => {
    expect(redactUrl('/oauth/callback/slack?code=abc&state=def&foo=bar')).toBe('/oauth/callback/slack?code=%5BRedacted%5D&state=%5BRedacted%5D&foo=bar');
    expect(redactUrl('/x?validationToken=v&client_secret=s')).not.toMatch(/=v|=s/);
    expect(redactUrl('/plain')).toBe('/plain');
  });
});

describe('createLogger', () => {
  it('redacts tokens and secrets in logged objects', () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } });
    const logger = createLogger({ level: 'info', destination });
    logger.info({ response: { access_token: 'AT-123', refresh_token: 'RT-456' }, client_secret: 'CS-789', token: 'T-000' }, 'exchanged');
    logger.info({ req: { method: 'GET', url: '/cb?code=CODE-1', headers: { authorization: 'Bearer B-1' } } }, 'request');
    const text = lines.join('');
    for (const secret of ['AT-123', 'RT-456', 'CS-789', 'T-000', 'CODE-1', 'B-1']) expect(text).not.toContain(secret);
    expect(text).toContain('exchanged');
  });
});

describe('lazyChild', () => {
  it('logs with the request bindings at enabled levels, redacted, and drops disabled levels', () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } });
    const logger = createLogger({ level: 'warn', destination });
    const child = lazyChild(logger, { reqId: 'req_1' }, {});
    child.info('not logged');
    child.warn({ token: 'T-1' }, 'logged');
    child.child({ more: 1 }).error('nested');
    expect(lines).toHaveLength(2);
    const [warn, nested] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warn).toMatchObject({ reqId: 'req_1', msg: 'logged', token: '[Redacted]' });
    expect(nested).toMatchObject({ reqId: 'req_1', more: 1, msg: 'nested' });
    expect(child.level).toBe('warn');
  });
});
