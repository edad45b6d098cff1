import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logger.js';

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
