// GitLab widgets for a project: its open merge requests, and its pipeline status per branch.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { projectParam, projectPath, walkPages } from './rest.js';

const PER_PAGE = 100;
/** Open merge requests: 5 pages of 100, the most a list widget holds (500); `x-total` counts the rest. */
const MR_PAGES = 5;
/** Pipelines: 10 pages of 100, the latest 1,000 of the period; 10 of the 2,000 calls a minute. */
const PIPELINE_PAGES = 10;

/** Read-only API access, in the connector's default scopes. */
const SCOPES = ['read_api'];

const mergeRequest = z.object({
  id: z.number(),
  iid: z.number(),
  title: z.string(),
  web_url: z.string(),
  created_at: z.string(),
  source_branch: z.string(),
  target_branch: z.string(),
  author: z.object({ username: z.string() }).nullish(),
  draft: z.boolean().optional(),
  // Before GitLab 14 `draft` was `work_in_progress`.
  work_in_progress: z.boolean().optional(),
  has_conflicts: z.boolean().optional(),
  detailed_merge_status: z.string().optional(),
});
const mergeRequests = z.array(mergeRequest);

const pipeline = z.object({
  id: z.number(),
  ref: z.string(),
  status: z.string(),
  web_url: z.string(),
  updated_at: z.string(),
});
const pipelines = z.array(pipeline);

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const mrParams = z.object({ project: projectParam });
const pipelineParams = z.object({
  project: projectParam,
  days: z.coerce.number().int().min(1).max(90).default(7),
  ref: z.string().min(1).max(255).regex(/^[^\s~^:?*[\\]+$/, 'a branch or tag name').optional(),
});

export const widgets = {
  'open-merge-requests': {
    title: 'Open merge requests',
    description: 'Merge requests waiting in a project, newest first: author, branches, draft, conflicts or merge status.',
    kind: 'list',
    ttlSeconds: 300,
    scopes: SCOPES,
    params: mrParams,
    async fetch({ params: p, api }) {
      const query = { state: 'opened', order_by: 'created_at', sort: 'desc', per_page: PER_PAGE };
      const walk = await walkPages(api, p.project, `${projectPath(p.project)}/merge_requests`, query, (b) => mergeRequests.parse(b), MR_PAGES);
      return {
        items: walk.items.map((mr) => ({
          id: String(mr.id),
          title: truncate(`!${mr.iid} ${mr.title}`, 1000),
          subtitle: truncate(`${mr.author?.username ?? 'unknown'} · ${mr.source_branch} → ${mr.target_branch}`, 1000),
          url: mr.web_url,
          status: mr.draft || mr.work_in_progress ? 'draft' : mr.has_conflicts ? 'conflict' : (mr.detailed_merge_status ?? 'opened'),
          timestamp: new Date(mr.created_at).toISOString(),
        })),
        ...(walk.total !== undefined && walk.total > walk.items.length ? { total: walk.total } : {}),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof mrParams>>,

  'pipeline-status': {
    title: 'Pipeline status',
    description: 'CI/CD pipelines of the last days (the latest 1,000 at most), per branch: latest status, failures and success rate.',
    kind: 'table',
    ttlSeconds: 300,
    scopes: SCOPES,
    params: pipelineParams,
    async fetch({ params: p, api, now }) {
      const query = {
        updated_after: new Date(now.getTime() - p.days * 86_400_000).toISOString(),
        order_by: 'updated_at',
        sort: 'desc',
        per_page: PER_PAGE,
        ref: p.ref,
      };
      const walk = await walkPages(api, p.project, `${projectPath(p.project)}/pipelines`, query, (b) => pipelines.parse(b), PIPELINE_PAGES);
      const byRef = new Map<string, { pipelines: number; succeeded: number; failed: number; latest: z.infer<typeof pipeline> }>();
      // Newest first: the first pipeline seen of a ref is its latest.
      for (const pl of walk.items) {
        const entry = byRef.get(pl.ref) ?? { pipelines: 0, succeeded: 0, failed: 0, latest: pl };
        entry.pipelines++;
        if (pl.status === 'success') entry.succeeded++;
        if (pl.status === 'failed') entry.failed++;
        byRef.set(pl.ref, entry);
      }
      const rows = [...byRef.entries()]
        // Branches whose latest pipeline failed first: that is what is broken now.
        .sort(([a, x], [b, y]) => Number(y.latest.status === 'failed') - Number(x.latest.status === 'failed') || y.failed - x.failed || a.localeCompare(b))
        .map(([ref, r]) => ({
          ref: truncate(ref, 255),
          status: r.latest.status,
          pipelines: r.pipelines,
          failed: r.failed,
          // Canceled, skipped and unfinished pipelines say nothing about health: the rate is over decided ones.
          successRate: r.succeeded + r.failed ? Math.round((r.succeeded / (r.succeeded + r.failed)) * 1000) / 10 : null,
          updatedAt: new Date(r.latest.updated_at).toISOString(),
          url: r.latest.web_url,
        }));
      return {
        columns: [
          { key: 'ref', label: 'Branch' },
          { key: 'status', label: 'Latest status' },
          { key: 'pipelines', label: 'Pipelines' },
          { key: 'failed', label: 'Failed' },
          { key: 'successRate', label: 'Success %' },
          { key: 'updatedAt', label: 'Updated' },
          { key: 'url', label: 'Link' },
        ],
        rows,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof pipelineParams>>,
};
