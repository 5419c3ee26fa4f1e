// The operator API's route handlers as one function of a request: no socket here, so
// every route is testable with a plain call (as Hono's app.request()). server.ts puts
// it on the Unix socket; the live event stream (SSE) is served there too.
import { z } from 'zod';
import { LifeboatError, httpStatusFor, notFoundError } from '../errors.js';
import type { JobRunner } from '../daemon/job-runner.js';
import { pruneSchedule, startScheduleRun } from '../daemon/schedule-actions.js';
import type { EventHub } from '../daemon/event-hub.js';
import type { Store } from '../imaging/repo/store.js';
import type { JobState, ManagementStore } from '../store/index.js';
import { JOB_STATES, imageFactsFromManifest } from '../store/index.js';
import { API_PREFIX, type ApiErrorBody, type ApplianceStatus, type Health, type LocalDevice, MachinePatchBody, NewJobBody, NewMachineBody, NewScheduleBody, ScheduleRunBody, type ScheduleView } from './contract.js';
import { nextElapse, parseCalendar } from '../jobs/index.js';
import type { Schedule } from '../store/index.js';

export interface ApiRequest {
  method: string;
  /** Path without query, e.g. /v1/machines/pc-1. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when none). */
  body: unknown;
  /** Operator name (from the request header) or 'timer'. */
  actor: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ApiDeps {
  db: ManagementStore;
  images: Store;
  runner: JobRunner;
  hub: EventHub;
  version: string;
  dataDir: string;
  startedAt: number;
  /** GET /v1/appliance. */
  appliance: () => Promise<ApplianceStatus>;
  /** After a schedule was added or removed: bring the timers in line; returns problems. */
  schedulesChanged: () => Promise<string[]>;
  /** GET /v1/devices: the disks docked in the appliance. */
  devices: () => Promise<LocalDevice[]>;
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw Object.assign(new LifeboatError('usage', `invalid ${what}: ${issues.join('; ')}`), { issues });
}

export function errorResponse(err: unknown): ApiResponse {
  const e = err instanceof LifeboatError ? err : new LifeboatError('bug', `internal error (a bug in Lifeboat, please report it): ${(err as Error)?.message ?? String(err)}`);
  const body: ApiErrorBody = { error: { kind: e.kind, message: e.message, ...((e as { issues?: string[] }).issues ? { issues: (e as { issues?: string[] }).issues } : {}) } };
  return { status: httpStatusFor(e), body };
}

type Handler = (req: ApiRequest, params: string[], deps: ApiDeps) => Promise<ApiResponse>;
const ok = (body: unknown, status = 200): ApiResponse => ({ status, body });

const routes: Array<[string, RegExp, Handler]> = [
  ['GET', /^\/health$/, async (_r, _p, d) =>
    ok({ ok: true, version: d.version, pid: process.pid, uptimeSeconds: Math.round((Date.now() - d.startedAt) / 1000), activeJobs: d.runner.active, store: d.images.root, dataDir: d.dataDir } satisfies Health)],

  ['GET', /^\/appliance$/, async (_r, _p, d) => ok(await d.appliance())],
  ['GET', /^\/devices$/, async (_r, _p, d) => ok(await d.devices())],

  ['GET', /^\/machines$/, async (r, _p, d) => ok(await d.db.machines.list(r.query.get('group') ? { group: r.query.get('group') as string } : {}))],
  ['POST', /^\/machines$/, async (r, _p, d) => {
    const body = parse(NewMachineBody, r.body, 'machine');
    const m = await d.db.machines.add(body);
    await d.db.events.record({ actor: r.actor, action: 'machine.add', subject: m.name, details: { macs: m.macs } });
    return ok(m, 201);
  }],
  ['GET', /^\/machines\/([^/]+)$/, async (_r, [name], d) => {
    const m = await d.db.machines.getByName(name as string);
    return ok({ ...m, disks: await d.db.disks.listByMachine(m.id) });
  }],
  ['PATCH', /^\/machines\/([^/]+)$/, async (r, [name], d) => {
    const patch = parse(MachinePatchBody, r.body, 'machine change');
    const m = await d.db.machines.edit(name as string, patch);
    await d.db.events.record({ actor: r.actor, action: 'machine.edit', subject: m.name, details: { fields: Object.keys(patch) } });
    return ok(m);
  }],
  ['DELETE', /^\/machines\/([^/]+)$/, async (r, [name], d) => {
    const m = await d.db.machines.remove(name as string);
    await d.db.events.record({ actor: r.actor, action: 'machine.remove', subject: m.name });
    return ok(m);
  }],

  ['GET', /^\/images$/, async (_r, _p, d) => ok(await d.db.images.list())],
  ['GET', /^\/images\/([^/]+)$/, async (_r, [id], d) => ok(await d.images.readManifest(id as string))],
  ['DELETE', /^\/images\/([^/]+)$/, async (r, [id], d) => {
    const record = await d.db.images.find(id as string);
    if (record?.protected) throw new LifeboatError('conflict', `image ${id} is protected: unprotect it first`);
    await d.images.removeImage(id as string);
    await d.db.images.reconcile((await d.images.listImages()).images.map(imageFactsFromManifest));
    await d.db.events.record({ actor: r.actor, action: 'image.remove', subject: id as string });
    return ok({ removed: id });
  }],

  ['GET', /^\/jobs$/, async (r, _p, d) => {
    const state = r.query.getAll('state').filter((s): s is JobState => (JOB_STATES as readonly string[]).includes(s));
    const jobs = await d.db.jobs.list(state.length > 0 ? { state } : {});
    return ok(jobs.map((j) => ({ ...j, ...(d.hub.progressOf(j.id) ? { live: d.hub.progressOf(j.id) } : {}) })));
  }],
  ['POST', /^\/jobs$/, async (r, _p, d) => {
    const body = parse(NewJobBody, r.body, 'job');
    const job = await d.runner.submit({
      type: body.type,
      requestedBy: r.actor,
      ...('device' in body && body.device ? { devicePath: body.device } : {}),
      ...('machine' in body && body.machine ? { machine: body.machine } : {}),
      ...('disk' in body && body.disk ? { disk: body.disk } : {}),
      ...('image' in body ? { imageId: body.image } : {}),
      ...('label' in body && body.label ? { label: body.label } : {}),
      ...('verify' in body && body.verify ? { verify: true } : {}),
    });
    return ok(job, 201);
  }],
  ['GET', /^\/jobs\/([^/]+)$/, async (_r, [id], d) => {
    const job = await d.db.jobs.get(id as string);
    const live = d.hub.progressOf(job.id);
    return ok({ ...job, ...(live ? { live } : {}) });
  }],
  ['POST', /^\/jobs\/([^/]+)\/cancel$/, async (r, [id], d) => ok(await d.runner.cancel(id as string, r.actor))],

  ['GET', /^\/schedules$/, async (_r, _p, d) => ok((await d.db.schedules.list()).map(withNextRun))],
  ['POST', /^\/schedules$/, async (r, _p, d) => {
    const body = parse(NewScheduleBody, r.body, 'schedule');
    const spec = parseCalendar(body.calendar); // refuse a bad calendar now, not when the timer fails
    const s = await d.db.schedules.add({
      name: body.name,
      target: body.machines ? { machines: body.machines } : body.devices ? { devices: body.devices } : { group: body.group as string },
      calendar: spec.source,
      ...(body.retention ? { retention: body.retention } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
    });
    const problems = await d.schedulesChanged();
    await d.db.events.record({ actor: r.actor, action: 'schedule.add', subject: s.name, details: { calendar: s.calendar, ...(problems.length ? { timerProblems: problems } : {}) } });
    return ok({ ...withNextRun(s), ...(problems.length ? { warnings: problems } : {}) }, 201);
  }],
  ['POST', /^\/schedules\/([^/]+)\/run$/, async (r, [name], d) => {
    const body = parse(ScheduleRunBody, r.body, 'schedule run');
    const s = await d.db.schedules.get(name as string);
    return ok(await startScheduleRun(d, s, r.actor, (body.bootTimeoutSeconds ?? 3600) * 1000), 201);
  }],
  ['POST', /^\/schedules\/([^/]+)\/prune$/, async (r, [name], d) => ok(await pruneSchedule(d, await d.db.schedules.get(name as string), r.actor))],
  ['GET', /^\/schedules\/([^/]+)$/, async (_r, [name], d) => ok(withNextRun(await d.db.schedules.get(name as string)))],
  ['DELETE', /^\/schedules\/([^/]+)$/, async (r, [name], d) => {
    const s = await d.db.schedules.remove(name as string);
    await d.schedulesChanged();
    await d.db.events.record({ actor: r.actor, action: 'schedule.remove', subject: s.name });
    return ok(s);
  }],

  ['GET', /^\/audit$/, async (_r, _p, d) => ok(await d.db.events.list())],
];

/** Routes one request; every error becomes a status and an ApiErrorBody. */
export async function handle(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  try {
    if (!req.path.startsWith(`${API_PREFIX}/`)) throw notFoundError(`no route ${req.method} ${req.path}: the API lives under ${API_PREFIX}/`);
    const path = req.path.slice(API_PREFIX.length);
    let pathMatched = false;
    for (const [method, pattern, handler] of routes) {
      const m = pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (method !== req.method) continue;
      return await handler(req, m.slice(1).map((s) => decodeURIComponent(s)), deps);
    }
    if (pathMatched) return { status: 405, body: { error: { kind: 'usage', message: `${req.method} is not allowed on ${req.path}` } } satisfies ApiErrorBody };
    throw notFoundError(`no route ${req.method} ${req.path}`);
  } catch (err) {
    return errorResponse(err);
  }
}

/** A schedule with its next firing time (UTC), computed from its calendar. */
function withNextRun(s: Schedule): ScheduleView {
  let next: Date | null = null;
  try {
    next = s.enabled ? nextElapse(parseCalendar(s.calendar), new Date(), 'UTC') : null;
  } catch {
    next = null; // stored before calendars were checked: shown as never
  }
  return { ...s, nextRun: next ? next.toISOString() : null };
}
