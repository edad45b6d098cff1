// Datadog: alerting monitors, incidents and SLOs, with the customer's API and application keys.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

/** Datadog sites; keys only work on their own site, and the site picks the API host. */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'ddog-gov.com',
] as const;

export const connector = defineConnector({
  slug: 'datadog',
  name: 'Datadog',
  category: 'observability',
  roles: ['cto'],
  envPrefix: 'DATADOG',
  docsUrl: 'https://docs.datadoghq.com/account_management/api-app-keys/',
  // Datadog's OAuth is for partner integrations only (and Marketplace listings): customers paste keys.
  auth: {
    type: 'apiKey',
    fields: [
      { name: 'apiKey', label: 'API key', secret: true, header: { name: 'DD-API-KEY' } },
      {
        name: 'appKey',
        label: 'Application key (a scoped, read-only key is enough)',
        secret: true,
        header: { name: 'DD-APPLICATION-KEY' },
      },
      { name: 'site', label: 'Datadog site', secret: false, enum: DATADOG_SITES },
    ],
  },
  placeholders: {
    site: { metadata: 'site', values: DATADOG_SITES, example: 'datadoghq.com' },
  },
  api: {
    baseUrl: 'https://api.{site}',
    // Limits are per endpoint and per organisation; timeseries queries (1,600/h) are the tightest we use.
    rateLimit: { points: 1000, windowSeconds: 3600 },
  },
  extraEnv: {
    DATADOG_WEBHOOK_SECRET:
      'Shared secret Datadog webhooks send in the X-Hub-Datadog-Secret custom header, as a Bearer token or as the Basic password (Datadog does not sign deliveries).',
  },
  widgets,
  hooks,
  webhooks,
});
