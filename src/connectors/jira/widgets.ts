// Jira widgets: how far a board's active sprint has come against its calendar, and open issues by priority.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { approximateCount, callJira, searchIssues } from './search.js';

/** A sprint's issues: 10 pages of 100 (1,000 issues), far beyond a real sprint. */
const SPRINT_PAGES = 10;
/** Open issues: 10 pages of 100 read by priority; the approximate count sizes whatever lies beyond. */
const OPEN_PAGES = 10;
/** Active sprints of a board: one page of 50 (parallel sprints are few). */
const SPRINTS_PER_PAGE = 50;

const sprintList = z.object({
  values: z
    .array(z.object({ id: z.number(), name: z.string(), state: z.string(), startDate: z.string().optional(), endDate: z.string().optional() }))
    .default([]),
});
type Sprint = z.infer<typeof sprintList>['values'][number];

const statusFields = z.object({ status: z.object({ statusCategory: z.object({ key: z.string() }).optional() }).nullish() });
const priorityFields = z.object({ priority: z.object({ id: z.string().optional(), name: z.string() }).nullish() });

const sprintParams = z.object({ boardId: z.coerce.number().int().positive().max(2 ** 53 - 1) });
const openParams = z.object({
  // Jira project keys: an upper-case letter, then letters, digits or underscores.
  project: z.string().regex(/^[A-Z][A-Z0-9_]{1,49}$/, 'a Jira project key such as ACME').optional(),
});

const round1 = (n: number) => Math.round(n * 10) / 10;
const percent = (part: number, whole: number) => (whole ? round1((part / whole) * 100) : 0);

/** The sprint to show when a board runs several at once: the one that ends first. */
const endingFirst = (sprints: Sprint[]) =>
  [...sprints].sort((a, b) => (a.endDate ? Date.parse(a.endDate) : Infinity) - (b.endDate ? Date.parse(b.endDate) : Infinity))[0];

export const widgets = {
  'sprint-progress': {
    title: 'Sprint progress',
    description: "Share of the active sprint's issues done, against the share of the sprint's time gone (delta: ahead or behind).",
    kind: 'metric',
    ttlSeconds: 600,
    scopes: ['read:jira-work', 'read:board-scope:jira-software', 'read:sprint:jira-software'],
    params: sprintParams,
    async fetch({ params: p, api, now }) {
      const board = `board ${p.boardId}`;
      const sprints = sprintList.parse(
        await callJira(() => api.get(`/rest/agile/1.0/board/${p.boardId}/sprint`, { query: { state: 'active', maxResults: SPRINTS_PER_PAGE } }), board),
      );
      const sprint = endingFirst(sprints.values.filter((s) => s.state === 'active'));
      if (!sprint) return { value: 0, unit: '%', label: `No active sprint on ${board}`, delta: null };
      const { issues, complete } = await searchIssues(api, `sprint = ${sprint.id}`, ['status'], SPRINT_PAGES, board);
      const categories = issues.map((i) => statusFields.parse(i.fields).status?.statusCategory?.key);
      const done = categories.filter((c) => c === 'done').length;
      const inProgress = categories.filter((c) => c === 'indeterminate').length;
      const value = percent(done, issues.length);
      const ends = sprint.endDate ? `, ends ${new Date(sprint.endDate).toISOString().slice(0, 10)}` : '';
      const label = `${sprint.name}: ${done} of ${issues.length}${complete ? '' : '+'} issues done, ${inProgress} in progress${ends}`;
      if (!sprint.startDate || !sprint.endDate) return { value, unit: '%', label: label.slice(0, 200), delta: null };
      const [start, end] = [Date.parse(sprint.startDate), Date.parse(sprint.endDate)];
      const elapsed = end > start ? Math.min(Math.max((now.getTime() - start) / (end - start), 0), 1) * 100 : 100;
      return { value, unit: '%', label: label.slice(0, 200), delta: { value: round1(value - elapsed), period: 'against time elapsed' } };
    },
  } satisfies WidgetDefinition<z.infer<typeof sprintParams>>,

  'open-issues-by-priority': {
    title: 'Open issues by priority',
    description: 'Issues not done, counted by priority, highest first (the first 1,000 are read; any beyond are counted apart).',
    kind: 'table',
    ttlSeconds: 900,
    scopes: ['read:jira-work'],
    params: openParams,
    async fetch({ params: p, api }) {
      const what = p.project ? `project ${p.project}` : 'this site';
      const where = `statusCategory != Done${p.project ? ` AND project = "${p.project}"` : ''}`;
      // Ordered by priority, the issues read first are the most urgent: a cut-off only drops the least urgent.
      const { issues, complete } = await searchIssues(api, `${where} ORDER BY priority DESC`, ['priority'], OPEN_PAGES, what);
      const counts = new Map<string, number>();
      for (const issue of issues) {
        const name = priorityFields.parse(issue.fields).priority?.name ?? 'No priority';
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      const beyond = complete ? 0 : Math.max((await approximateCount(api, where, what)) - issues.length, 0);
      const total = issues.length + beyond;
      const rows = [...counts].map(([priority, n]) => ({ priority, issues: n, share: percent(n, total) }));
      if (beyond) rows.push({ priority: `Not read (beyond the first ${issues.length})`, issues: beyond, share: percent(beyond, total) });
      return {
        columns: [
          { key: 'priority', label: 'Priority' },
          { key: 'issues', label: 'Open issues' },
          { key: 'share', label: 'Share %' },
        ],
        rows,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof openParams>>,
};
