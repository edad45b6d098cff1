// Xero: financial reports, bank balances and receivables for the CFO.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'xero',
  name: 'Xero',
  category: 'finance',
  roles: ['cfo'],
  envPrefix: 'XERO',
  docsUrl: 'https://developer.xero.com/documentation/guides/oauth2/auth-flow/',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://login.xero.com/identity/connect/authorize',
    tokenUrl: 'https://identity.xero.com/connect/token',
    // Revoking the refresh token also removes every tenant connection the user gave the app.
    revokeUrl: 'https://identity.xero.com/connect/revocation',
    revoke: { method: 'POST', auth: 'basic', bodyFormat: 'form', token: 'refresh' },
    scopes: {
      // Apps created since 2026-03-02 must use granular scopes; the broad ones stay available for older apps.
      default: [
        'offline_access',
        'accounting.settings.read',
        'accounting.invoices.read',
        'accounting.reports.profitandloss.read',
        'accounting.reports.balancesheet.read',
        // The executive-summary widget's report; read-only, and the summary an executive opens Xero for.
        'accounting.reports.executivesummary.read',
      ],
      available: [
        'offline_access',
        'accounting.settings.read',
        'accounting.invoices.read',
        'accounting.reports.profitandloss.read',
        'accounting.reports.balancesheet.read',
        'accounting.payments.read',
        'accounting.banktransactions.read',
        'accounting.contacts.read',
        // Confirmed in Xero's granular-scope lists as used by Nango's ExecutiveSummary action and others.
        'accounting.reports.executivesummary.read',
        // ⚠ The names of the remaining report scopes follow Xero's pattern; not confirmed from Xero's docs.
        'accounting.reports.banksummary.read',
        'accounting.reports.aged.read',
        'accounting.reports.trialbalance.read',
        'accounting.transactions.read',
        'accounting.reports.read',
        'openid',
        'profile',
        'email',
      ],
      separator: ' ',
    },
    pkce: true,
    clientAuth: 'basic',
    tokenBodyFormat: 'form',
    // Single-use refresh tokens with a 30-minute grace period for a retry with the old one.
    refresh: 'rotating',
  },
  api: {
    baseUrl: 'https://api.xero.com/api.xro/2.0',
    // Per tenant: 60 calls per minute (and 5,000 per day, 5 concurrent).
    rateLimit: { points: 60, windowSeconds: 60 },
  },
  extraEnv: {
    XERO_WEBHOOK_KEY: 'Webhook key of the Xero app: verifies x-xero-signature and answers intent-to-receive.',
  },
  widgets,
  hooks,
  webhooks,
});
