// The operator surface's handlers: one per route of the table (route-table.ts), each
// given checked input and the services it needs (services.ts), answering the table's
// type. What changes something is recorded in the audit trail with the actor. The socket
// server (server.ts) authenticates and calls `operatorApi(services)`.
import { LifeboatError } from '../errors.js';
import { nextElapse, parseCalendar } from '../jobs/index.js';
import { type ApiRequest, type ApiResponse, type Handlers, dispatcher } from './dispatch.js';
import { type JobDestination, destinationText, parseDestination } from './destination.js';
import type { OperatorServices } from './services.js';
import type { Health, Schedule, ScheduleView } from './wire.js';

export function operatorHandlers(s: OperatorServices): Handlers<'operator'> {
  return {
    health: async () => {
      const i = s.info();
      return { ok: true, version: i.version, pid: i.pid, uptimeSeconds: Math.round((Date.now() - i.startedAt) / 1000), activeJobs: i.activeJobs, store: i.store, dataDir: i.dataDir, database: i.databaseProblem === null ? { writable: true } : { writable: false, problem: i.databaseProblem } } satisfies Health;
    },
    appliance: () => s.appliance(),
    throughput: () => s.throughput(),
    devices: () => s.devices(),

    machines: ({ query }) => s.machines.list(query.group !== undefined ? { group: query.group } : {}),
    addMachine: async ({ body, actor }) => {
      const m = await s.machines.add(body);
      await s.audit.record({ actor, action: 'machine.add', subject: m.name, details: { macs: m.macs } });
      return m;
    },
    machine: async ({ params }) => {
      const m = await s.machines.get(params.machine);
      return { ...m, disks: await s.machines.disksOf(m.id) };
    },
    editMachine: async ({ params, body, actor }) => {
      const m = await s.machines.edit(params.machine, body);
      await s.audit.record({ actor, action: 'machine.edit', subject: m.name, details: { fields: Object.keys(body) } });
      return m;
    },
    wakeMachine: async ({ params, actor }) => {
      const woke = await s.machines.wake(params.machine);
      await s.audit.record({ actor, action: 'machine.wake', subject: woke.machine, details: { macs: woke.macs } });
      return woke;
    },
    removeMachine: async ({ params, actor }) => {
      const m = await s.machines.remove(params.machine);
      await s.audit.record({ actor, action: 'machine.remove', subject: m.name });
      return m;
    },

    images: () => s.images.list(),
    image: ({ params }) => s.images.manifest(params.image),
    editImage: async ({ params, body, actor }) => {
      const r = await s.images.setProtected(params.image, body.protected);
      await s.audit.record({ actor, action: body.protected ? 'image.protect' : 'image.unprotect', subject: r.id });
      return r;
    },
    pruneImages: ({ body, actor }) => s.images.prune(body.retention, actor, body.dryRun === true),
    importImage: async ({ params, body, actor }) => {
      const r = await s.images.import(params.image, body.from);
      await s.audit.record({ actor, action: 'image.import', subject: params.image, details: { from: body.from, chunksCopied: r.chunksCopied } });
      return r;
    },
    removeImage: async ({ params, actor }) => {
      const id = params.image;
      if ((await s.images.find(id))?.protected) throw new LifeboatError('conflict', `image ${id} is protected: unprotect it first`);
      await s.images.remove(id);
      await s.audit.record({ actor, action: 'image.remove', subject: id });
      return { removed: id };
    },

    jobs: async ({ query }) => {
      const since = query.since !== undefined ? new Date(query.since).toISOString() : undefined;
      const jobs = await s.jobs.list({ ...(query.state ? { state: query.state } : {}), ...(since ? { since } : {}), ...(query.limit ? { limit: query.limit } : {}) });
      return jobs.map((j) => withLive(s, j));
    },
    createJob: async ({ body, actor }) =>
      s.jobs.submit({
        type: body.type,
        requestedBy: actor,
        ...('device' in body && body.device ? { devicePath: body.device } : {}),
        ...('machine' in body && body.machine ? { machine: body.machine } : {}),
        ...('disk' in body && body.disk ? { disk: body.disk } : {}),
        ...('image' in body ? { imageId: body.image } : {}),
        ...('label' in body && body.label ? { label: body.label } : {}),
        ...('verify' in body && body.verify ? { verify: true } : {}),
        ...('growLast' in body && body.growLast ? { growLast: true } : {}),
        ...('passphrase' in body && body.passphrase !== undefined ? { passphrase: body.passphrase } : {}),
        ...('verifyFirst' in body && body.verifyFirst !== undefined ? { verifyFirst: body.verifyFirst } : {}),
        ...('destination' in body && body.destination !== undefined && parseDestination(body.destination) ? { destination: parseDestination(body.destination) as JobDestination } : {}),
        ...('growLast' in body && body.growLast ? { growLast: true } : {}),
        ...('end' in body && body.end ? { end: body.end } : {}),
      }),
    job: async ({ params }) => withLive(s, await s.jobs.get(params.job)),
    cancelJob: ({ params, actor }) => s.jobs.cancel(params.job, actor),

    schedules: async () => (await s.schedules.list()).map(withNextRun),
    addSchedule: async ({ body, actor }) => {
      const spec = parseCalendar(body.calendar); // refuse a bad calendar now, not when the timer fails
      if (body.group !== undefined) await knownGroup(s, body.group);
      const added = await s.schedules.add({
        name: body.name,
        target: body.machines ? { machines: body.machines } : body.devices ? { devices: body.devices } : { group: body.group as string },
        calendar: spec.source,
        ...(body.retention ? { retention: body.retention } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        ...(body.passphraseFile !== undefined ? { passphraseFile: body.passphraseFile } : {}),
        ...(body.destination !== undefined && parseDestination(body.destination) ? { destination: parseDestination(body.destination) as JobDestination } : {}),
      });
      const problems = await s.schedules.timersChanged();
      await s.audit.record({ actor, action: 'schedule.add', subject: added.name, details: { calendar: added.calendar, ...(added.destination ? { destination: destinationText(added.destination) } : {}), ...(problems.length ? { timerProblems: problems } : {}) } });
      return { ...withNextRun(added), ...(problems.length ? { warnings: problems } : {}) };
    },
    schedule: async ({ params }) => withNextRun(await s.schedules.get(params.schedule)),
    editSchedule: async ({ params, body, actor }) => {
      const calendar = body.calendar !== undefined ? parseCalendar(body.calendar).source : undefined;
      const group = body.group;
      const target = body.machines ? { machines: body.machines } : body.devices ? { devices: body.devices } : group !== undefined ? { group } : undefined;
      if (group !== undefined) await knownGroup(s, group);
      const edited = await s.schedules.edit(params.schedule, {
        ...(target ? { target } : {}),
        ...(calendar !== undefined ? { calendar } : {}),
        ...(body.retention ? { retention: body.retention } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        ...(body.passphraseFile !== undefined ? { passphraseFile: body.passphraseFile } : {}),
        ...(body.destination !== undefined ? { destination: parseDestination(body.destination) } : {}), // appliance: null, cleared
      });
      const problems = await s.schedules.timersChanged();
      await s.audit.record({ actor, action: 'schedule.edit', subject: edited.name, details: { fields: Object.keys(body), ...(problems.length ? { timerProblems: problems } : {}) } });
      return { ...withNextRun(edited), ...(problems.length ? { warnings: problems } : {}) };
    },
    removeSchedule: async ({ params, actor }) => {
      const removed = await s.schedules.remove(params.schedule);
      await s.schedules.timersChanged();
      await s.audit.record({ actor, action: 'schedule.remove', subject: removed.name });
      return removed;
    },
    runSchedule: ({ params, body, actor }) => s.schedules.run(params.schedule, actor, (body.bootTimeoutSeconds ?? 3600) * 1000),
    pruneSchedule: ({ params, body, actor }) => s.schedules.prune(params.schedule, actor, body.dryRun === true),

    media: () => s.media.list(),
    createMedium: ({ body, actor }) => s.media.create({ ...(body.machine !== undefined ? { machine: body.machine } : {}), ...(body.server !== undefined ? { server: body.server } : {}), actor }),
    revokeMedium: ({ params, actor }) => s.media.revoke(params.medium, actor),

    audit: ({ query }) => s.audit.list({ ...(query.since !== undefined ? { since: new Date(query.since).toISOString() } : {}), ...(query.limit ? { limit: query.limit } : {}) }),
  };
}

/** A schedule may name only a group some machine is in (as it may name only known machines). */
async function knownGroup(s: OperatorServices, group: string): Promise<void> {
  if ((await s.machines.list({ group })).length > 0) return;
  const groups = [...new Set((await s.machines.list({})).flatMap((m) => (m.group ? [m.group] : [])))].sort();
  throw new LifeboatError('not-found', `no machine is in group "${group}"${groups.length ? ` (groups: ${groups.join(', ')})` : ''}: put machines in it first (\`lifeboat machines edit <name> --group ${group}\`) or check the name`);
}

/** The operator surface as one function of a request (tests call it without a socket). */
export function operatorApi(s: OperatorServices): (req: ApiRequest) => Promise<ApiResponse> {
  return dispatcher('operator', operatorHandlers(s));
}

function withLive<J extends { id: string }>(s: OperatorServices, job: J) {
  const live = s.jobs.progressOf(job.id);
  return { ...job, ...(live ? { live } : {}) };
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

export type { ApiRequest, ApiResponse };
