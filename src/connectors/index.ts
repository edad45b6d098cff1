// The connector registry: adding a provider is one folder and one line here, in SEED.md's order.
// src/config.ts builds the provider variables from this list, so connectors must never import config.
import type { ConnectorDefinition } from './types.js';
import { connector as slack } from './slack/index.js';
import { connector as googleCalendar } from './google-calendar/index.js';
import { connector as microsoftTeams } from './microsoft-teams/index.js';
import { connector as notion } from './notion/index.js';
import { connector as asana } from './asana/index.js';
import { connector as github } from './github/index.js';
import { connector as gitlab } from './gitlab/index.js';
import { connector as jira } from './jira/index.js';
import { connector as datadog } from './datadog/index.js';
import { connector as quickbooks } from './quickbooks/index.js';
import { connector as xero } from './xero/index.js';
import { connector as stripe } from './stripe/index.js';

export const connectors: readonly ConnectorDefinition[] = Object.freeze([
  slack,
  googleCalendar,
  microsoftTeams,
  notion,
  asana,
  github,
  gitlab,
  jira,
  datadog,
  quickbooks,
  xero,
  stripe,
]);

const bySlug = new Map(connectors.map((c) => [c.slug, c]));

export function getConnector(slug: string): ConnectorDefinition | undefined {
  return bySlug.get(slug);
}
