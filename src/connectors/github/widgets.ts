// GitHub widgets for a repository: its open pull requests, and its recent workflow runs per workflow.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { getPage, pageNumberOf, walkPages } from './rest.js';

const PER_PAGE = 100;
/** Open pull requests: 5 pages of 100, the most a list widget holds (500); the last page is read to count the rest. */
const PR_PAGES = 5;
/** Workflow runs: 10 pages of 100, so the latest 1,000 runs of the period; 10 of the 5,000 calls an hour. */
const RUN_PAGES = 10;

/**
 * No OAuth scopes are declared: a GitHub App user token carries none (`scope=""`, its App's permissions govern),
 * and an OAuth App token has `repo` by default. GitHub itself answers a repository the token cannot read.
 */
const SCOPES: string[] = [];

const repo = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, 'a repository as owner/name')
  .refine((r) => !r.endsWith('/.') && !r.endsWith('/..'), 'a repository as owner/name');

const pull = z.object({
  id: z.number(),
  number: z.number(),
  title: z.string(),
  html_url: z.string(),
  draft: z.boolean().optional(),
  created_at: z.string(),
  user: z.object({ login: z.string() }).nullish(),
  head: z.object({ ref: z.string() }),
  base: z.object({ ref: z.string() }),
  requested_reviewers: z.array(z.unknown()).nullish(),
});
const pullList = z.array(pull);

const run = z.object({
  id: z.number(),
  name: z.string().nullish(),
  workflow_id: z.number(),
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  html_url: z.string(),
  created_at: z.string(),
});
const runList = z.object({ total_count: z.number(), workflow_runs: z.array(run) });

const FAILED = new Set(['failure', 'timed_out', 'startup_failure']);
const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const isoDay = (date: Date) => date.toISOString().slice(0, 10);

const pullParams = z.object({ repo });
const runParams = z.object({
  repo,
  days: z.coerce.number().int().min(1).max(90).default(7),
  branch: z.string().min(1).max(255).regex(/^[^\s~^:?*[\\]+$/, 'a branch name').optional(),
});

export const widgets = {
  'open-pull-requests': {
    title: 'Open pull requests',
    description: 'Pull requests waiting in a repository, newest first: author, branches, draft or awaiting review.',
    kind: 'list',
    ttlSeconds: 300,
    scopes: SCOPES,
    params: pullParams,
    async fetch({ params: p, api }) {
      const path = `/repos/${p.repo}/pulls`;
      const walk = await walkPages(api, p.repo, path, { state: 'open', per_page: PER_PAGE }, (body) => pullList.parse(body), PR_PAGES);
      let total: number | undefined;
      const lastPage = walk.lastPageUrl ? pageNumberOf(walk.lastPageUrl) : undefined;
      if (walk.lastPageUrl && lastPage) {
        // One more call sizes the backlog exactly: every page but the last is full.
        total = (lastPage - 1) * PER_PAGE + pullList.parse((await getPage(api, p.repo, walk.lastPageUrl)).body).length;
      }
      return {
        items: walk.items.map((pr) => ({
          id: String(pr.id),
          title: truncate(`#${pr.number} ${pr.title}`, 1000),
          subtitle: truncate(`${pr.user?.login ?? 'ghost'} · ${pr.head.ref} → ${pr.base.ref}`, 1000),
          url: pr.html_url,
          status: pr.draft ? 'draft' : pr.requested_reviewers?.length ? 'review requested' : 'open',
          timestamp: new Date(pr.created_at).toISOString(),
        })),
        ...(total !== undefined && total > walk.items.length ? { total } : {}),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof pullParams>>,

  'recent-workflow-runs': {
    title: 'Recent workflow runs',
    description:
      'GitHub Actions runs of the last days (the latest 1,000 at most), per workflow: runs, failures, success rate and the latest result.',
    kind: 'table',
    ttlSeconds: 600,
    scopes: SCOPES,
    params: runParams,
    async fetch({ params: p, api, now }) {
      const since = new Date(now.getTime() - p.days * 86_400_000);
      const query = { created: `>=${isoDay(since)}`, per_page: PER_PAGE, exclude_pull_requests: true, branch: p.branch };
      const walk = await walkPages(api, p.repo, `/repos/${p.repo}/actions/runs`, query, (body) => runList.parse(body).workflow_runs, RUN_PAGES);
      const byWorkflow = new Map<number, { name: string; runs: number; succeeded: number; failed: number; latest: z.infer<typeof run> }>();
      // GitHub lists runs newest first: the first run seen of a workflow is its latest.
      for (const r of walk.items) {
        const entry = byWorkflow.get(r.workflow_id) ?? { name: r.name ?? `workflow ${r.workflow_id}`, runs: 0, succeeded: 0, failed: 0, latest: r };
        entry.runs++;
        if (r.conclusion === 'success') entry.succeeded++;
        if (r.conclusion && FAILED.has(r.conclusion)) entry.failed++;
        byWorkflow.set(r.workflow_id, entry);
      }
      const rows = [...byWorkflow.values()]
        .sort((a, b) => b.failed - a.failed || a.name.localeCompare(b.name))
        .map((w) => ({
          workflow: truncate(w.name, 200),
          runs: w.runs,
          failed: w.failed,
          // Cancelled, skipped and unfinished runs say nothing about health: the rate is over decided runs.
          successRate: w.succeeded + w.failed ? Math.round((w.succeeded / (w.succeeded + w.failed)) * 1000) / 10 : null,
          lastResult: w.latest.conclusion ?? w.latest.status ?? 'unknown',
          lastRunAt: new Date(w.latest.created_at).toISOString(),
          url: w.latest.html_url,
        }));
      return {
        columns: [
          { key: 'workflow', label: 'Workflow' },
          { key: 'runs', label: 'Runs' },
          { key: 'failed', label: 'Failed' },
          { key: 'successRate', label: 'Success %' },
          { key: 'lastResult', label: 'Last result' },
          { key: 'lastRunAt', label: 'Last run' },
          { key: 'url', label: 'Link' },
        ],
        rows,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof runParams>>,
};
