// Datadog provider code: checks the API key and the application key on the customer's site before storing them.
import { z } from 'zod';
import { ProviderError } from '../../errors.js';
import type { ConnectorHooks } from '../types.js';

const apiKeyAnswer = z.object({ valid: z.boolean() });
const keyPairAnswer = z.object({ status: z.string() });

/** A 2xx answer that does not say yes is a refusal (not an outage), as the documented 403 would be. */
const refused = (code: 'invalid_api_key' | 'invalid_application_key') => new ProviderError('datadog', 403, code, `Datadog refused the keys (${code})`);

export const hooks: ConnectorHooks = {
  async verifyApiKey({ credentials, http, endpoints }) {
    // The engine has checked the fields against the definition: both keys present, the site one of DATADOG_SITES.
    const { apiKey = '', appKey = '', site = '' } = credentials;
    const base = endpoints.apiBaseUrl;
    // /api/v1/validate checks the API key only (403 when it is wrong)…
    const v1 = apiKeyAnswer.safeParse(await http.json(`${base}/api/v1/validate`, { headers: { 'dd-api-key': apiKey } }));
    if (!v1.success || !v1.data.valid) throw refused('invalid_api_key');
    // …and every widget read needs the application key too, so the pair is checked before it is stored.
    const pair = keyPairAnswer.safeParse(
      await http.json(`${base}/api/v2/validate_keys`, { headers: { 'dd-api-key': apiKey, 'dd-application-key': appKey } }),
    );
    if (!pair.success || pair.data.status !== 'ok') throw refused('invalid_application_key');
    // Neither call names the organisation, so the account is the site: a workspace connects one Datadog
    // organisation per site, and connecting again with new keys replaces them (key rotation) in place.
    // No routing keys: Datadog webhooks are unsigned and routed by the connection they are addressed to.
    return { id: site, name: `Datadog (${site})`, metadata: { site } };
  },

  // Every read needs both keys: the API key names the organisation, the application key the permissions.
  apiHeaders(credentials): Record<string, string> {
    if (credentials.type !== 'apiKey') return {};
    return { 'dd-api-key': credentials.fields.apiKey ?? '', 'dd-application-key': credentials.fields.appKey ?? '' };
  },
};
