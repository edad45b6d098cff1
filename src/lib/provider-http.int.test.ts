// The provider client's timeout: a provider that accepts the request and never answers costs a bounded wait,
// then a transient ProviderError (status 0, code 'timeout'), never a hung widget read or refresh.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { providerRequest } from './provider-http.js';

let silent: Server;
let url: string;
const received: IncomingMessage[] = [];

beforeAll(async () => {
  // Reads the request and never writes a byte back.
  silent = createServer((req) => void received.push(req));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('providerRequest timeout', () => {
  it('gives up on a provider that never answers: ProviderError, status 0, code timeout, transient', async () => {
    const before = received.length;
    const error = await failureOf(providerRequest('slowco', `${url}/api/things?page=2`, { timeoutMs: 300 }));
    // The request did reach the server: this is the timeout, not a refused connection.
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)!.url).toBe('/api/things?page=2');
    expect(error).toMatchObject({ provider: 'slowco', status: 0, providerCode: 'timeout' });
    expect(error.transient).toBe(true);
  });

  it('times out a POST with a body the same way', async () => {
    const error = await failureOf(providerRequest('slowco', `${url}/token`, { form: { grant_type: 'refresh_token', refresh_token: 'rt_secret' }, timeoutMs: 300 }));
    expect(error).toMatchObject({ status: 0, providerCode: 'timeout' });
    // What a ProviderError carries never includes the request body (it may hold tokens).
    expect(error.message).not.toContain('rt_secret');
  });

  it('tells a refused connection (network_error) apart from a timeout', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failureOf(providerRequest('slowco', `http://127.0.0.1:${port}/`, { timeoutMs: 5_000 }));
    expect(error).toMatchObject({ status: 0, providerCode: 'network_error' });
  });
});
