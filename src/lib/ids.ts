// Prefixed, k-sortable ids (`conn_01j…`): the prefix tells what an id names, the ULID sorts by time.
import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

export const ID_PREFIXES = {
  connection: 'conn',
  syncRun: 'sync',
  webhookEvent: 'whe',
  webhookSubscription: 'whs',
  auditEvent: 'aud',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid().toLowerCase()}`;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
