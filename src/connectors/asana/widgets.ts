// Asana widgets: overdue tasks (a project's, or the user's own in a workspace) and a project's progress.
import { z } from 'zod';
import { AppError, ProviderError } from '../../errors.js';
import { dateIn, timeZoneParam } from '../../lib/time-zone.js';
import type { ProviderApi, WidgetDefinition } from '../types.js';

/** GET /tasks cannot filter on due dates (only the premium search API can): 10 pages of 100 open tasks are read. */
const MAX_PAGES = 10;
const PAGE_SIZE = 100;

const gid = z.string().regex(/^\d{1,32}$/, 'an Asana gid (digits)');

const timeZone = timeZoneParam;

const task = z.object({
  gid: z.string(),
  name: z.string().default(''),
  completed: z.boolean().optional(),
  due_on: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullish(),
  due_at: z.iso.datetime({ offset: true }).nullish(),
  permalink_url: z.string().nullish(),
  assignee: z.object({ name: z.string().optional() }).nullish(),
});
type Task = z.infer<typeof task>;
const tasksPage = z.object({ data: z.array(task), next_page: z.object({ offset: z.string() }).nullish() });

const project = z.object({ data: z.object({ gid: z.string(), name: z.string().default(''), permalink_url: z.string().nullish() }) });
const taskCounts = z.object({
  data: z.object({ num_tasks: z.number().int().nonnegative(), num_completed_tasks: z.number().int().nonnegative(), num_incomplete_tasks: z.number().int().nonnegative().optional() }),
});

const overdueParams = z.object({
  /** A project's overdue tasks; without it, the connected user's own in `workspace`. */
  project: gid.optional(),
  /** Defaults to the user's first workspace. */
  workspace: gid.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  timeZone,
});
const progressParams = z.object({ project: gid });

/** The calendar date of `now` in a time zone, as YYYY-MM-DD (what `due_on` holds). */
export { dateIn };

const badParam = (field: string, detail: string) => new AppError('validation_failed', detail, { fields: [{ path: `querystring.${field}`, message: detail }] });

/** Asana answers 404 for a gid that does not exist or that the user cannot see: the param is wrong. */
async function orBadParam<T>(field: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ProviderError && error.status === 404) throw badParam(field, `Asana has no ${field} with this gid visible to the connection.`);
    throw error;
  }
}

async function openTasks(api: ProviderApi, scope: Record<string, string>): Promise<Task[]> {
  const tasks: Task[] = [];
  let offset: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = tasksPage.parse(
      await api.get('/tasks', {
        // completed_since=now: only tasks not completed yet.
        query: { ...scope, completed_since: 'now', limit: PAGE_SIZE, offset, opt_fields: 'name,completed,due_on,due_at,permalink_url,assignee.name' },
      }),
    );
    tasks.push(...body.data);
    offset = body.next_page?.offset;
    if (!offset) break;
  }
  return tasks;
}

const DAY_MS = 86_400_000;
const dueInstant = (t: Task) => (t.due_at ? Date.parse(t.due_at) : Date.parse(`${t.due_on}T00:00:00Z`));

export const widgets = {
  'overdue-tasks': {
    title: 'Overdue tasks',
    description: "Open tasks past their due date: a project's, or the connected user's own across a workspace.",
    kind: 'list',
    ttlSeconds: 600,
    scopes: ['tasks:read'],
    params: overdueParams,
    async fetch({ params, api, metadata, now }) {
      const workspace = params.workspace ?? metadata.workspaceGid;
      if (!params.project && !workspace) throw badParam('workspace', 'The Asana account has no workspace; name a project or a workspace.');
      const scope: Record<string, string> = params.project ? { project: params.project } : { assignee: 'me', workspace: workspace! };
      const field = params.project ? 'project' : 'workspace';
      const today = dateIn(now, params.timeZone);
      const overdue = (await orBadParam(field, openTasks(api, scope)))
        .filter((t) => !t.completed && (t.due_at ? Date.parse(t.due_at) < now.getTime() : Boolean(t.due_on && t.due_on < today)))
        .sort((a, b) => dueInstant(a) - dueInstant(b) || a.name.localeCompare(b.name));
      return {
        items: overdue.slice(0, params.limit).map((t) => {
          const dueDate = t.due_on ?? dateIn(new Date(t.due_at!), params.timeZone);
          const late = Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${dueDate}T00:00:00Z`)) / DAY_MS);
          const lateness = late > 0 ? `${late} day${late === 1 ? '' : 's'} late` : 'due earlier today';
          return {
            id: t.gid,
            title: (t.name || 'Untitled task').slice(0, 1000),
            subtitle: [`Due ${dueDate}`, lateness, params.project ? t.assignee?.name : undefined].filter(Boolean).join(' · '),
            ...(t.permalink_url && URL.canParse(t.permalink_url) ? { url: t.permalink_url } : {}),
            status: 'overdue',
            timestamp: new Date(dueInstant(t)).toISOString(),
          };
        }),
        total: overdue.length,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof overdueParams>>,

  'project-progress': {
    title: 'Project progress',
    description: "Share of a project's tasks completed.",
    kind: 'metric',
    ttlSeconds: 900,
    scopes: ['projects:read'],
    params: progressParams,
    // Two single-object reads, nothing to page through.
    async fetch({ params, api }) {
      const path = `/projects/${params.project}`;
      const [info, counts] = await orBadParam(
        'project',
        Promise.all([
          api.get(path, { query: { opt_fields: 'name,permalink_url' } }).then((b) => project.parse(b).data),
          // Every field of task_counts must be asked for by name, or the answer is empty.
          api.get(`${path}/task_counts`, { query: { opt_fields: 'num_tasks,num_completed_tasks,num_incomplete_tasks' } }).then((b) => taskCounts.parse(b).data),
        ]),
      );
      const total = counts.num_tasks;
      const done = counts.num_completed_tasks;
      const percent = total ? Math.round((done / total) * 1000) / 10 : 0;
      return { value: percent, unit: '%', label: `${info.name || 'Project'}: ${done} of ${total} tasks done`.slice(0, 200), delta: null };
    },
  } satisfies WidgetDefinition<z.infer<typeof progressParams>>,
};
