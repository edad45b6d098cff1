// Reading a Datadog webhook body: Datadog sends whatever JSON payload template the operator wrote (or its default
// one), optionally form-encoded, so every field is looked for where the default and the recommended template put it.
import { parseJson } from '../../lib/webhook-signature.js';

/**
 * The payload template to set on the hub's Datadog webhook (Integrations → Webhooks → Payload). A superset of
 * Datadog's default payload (`id`, `event_type`, `title`, `date`, `last_updated`, `org`, `body`): what the hub
 * routes and de-duplicates by, and the monitor facts that say which widgets an event changes.
 */
export const RECOMMENDED_DATADOG_PAYLOAD = `{
  "id": "$ID",
  "event_type": "$EVENT_TYPE",
  "title": "$EVENT_TITLE",
  "date": "$DATE",
  "last_updated": "$LAST_UPDATED",
  "org": { "id": "$ORG_ID", "name": "$ORG_NAME" },
  "alert": {
    "id": "$ALERT_ID",
    "transition": "$ALERT_TRANSITION",
    "type": "$ALERT_TYPE",
    "priority": "$ALERT_PRIORITY",
    "query": "$ALERT_QUERY",
    "cycle_key": "$ALERT_CYCLE_KEY"
  },
  "link": "$LINK"
}`;

export interface DatadogNotification {
  /** `$ID`: the event, the same on Datadog's retries. */
  eventId?: string;
  /** `$EVENT_TYPE`: `metric_alert_monitor`, `query_alert_monitor`, `event_alert`, `service_check` … */
  eventType?: string;
  /** `$ORG_ID`: the numeric organisation id. */
  orgId?: string;
  /** `$ALERT_ID`: the monitor. */
  alertId?: string;
  /** `$ALERT_TRANSITION`: `Triggered`, `Re-Triggered`, `Recovered`, `Warn`, `No Data`, `Renotify` … */
  transition?: string;
  /** `$ALERT_QUERY`: an SLO alert's query is `error_budget("…")…` or `burn_rate("…")…`. */
  query?: string;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A variable's value; an empty one, or one Datadog left as its `$NAME` (no value for this event), is absent. */
function value(v: unknown, max = 255): string | undefined {
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (!s || s.length > max || /^\$[A-Z_]+$/.test(s)) return undefined;
  return s;
}

/** The body as an object: JSON, or "Encode as form" (top-level fields, nested objects as JSON text). */
export function bodyOf(raw: Buffer, contentType: string | undefined): Obj | undefined {
  if (contentType?.startsWith('application/x-www-form-urlencoded')) {
    const fields: Obj = {};
    for (const [key, v] of new URLSearchParams(raw.toString('utf8'))) {
      fields[key] = v.trimStart().startsWith('{') ? (parseJson(v) ?? v) : v;
    }
    return fields;
  }
  const body = parseJson(raw);
  return isObject(body) ? body : undefined;
}

/** The facts the hub uses, wherever the template put them (nested as recommended, or flat). */
export function readNotification(body: unknown): DatadogNotification {
  const b = isObject(body) ? body : {};
  const org = isObject(b.org) ? b.org : {};
  const alert = isObject(b.alert) ? b.alert : {};
  const orgId = value(org.id ?? b.org_id);
  return {
    eventId: value(b.id ?? b.event_id),
    eventType: value(b.event_type, 64),
    orgId: orgId && /^\d{1,20}$/.test(orgId) ? orgId : undefined,
    alertId: value(alert.id ?? b.alert_id),
    transition: value(alert.transition ?? b.alert_transition, 64),
    query: value(alert.query ?? b.alert_query, 4096),
  };
}
