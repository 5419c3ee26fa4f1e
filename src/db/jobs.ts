// Jobs: what was asked, on which disk, and how it went. State changes go through the
// pure state machine in job-state.ts. At most one active job per disk: a local device
// (an appliance disk, by device path), a disk of a machine (by serial or path), or a
// whole machine (a job naming no disk holds every disk of it). Live progress stays in
// memory; checkpoint() writes it at most every 10 seconds per job.
import { type JobDestination, destinationText, parseDestination } from '../api/destination.js';
import { conflictError, notFoundError, userError } from '../errors.js';
import { type StoreContext, newId } from './context.js';
import { checkDevicePath } from './disks.js';
import { checkImageId } from './images.js';
import { ACTIVE_STATES, JOB_EVENTS, JOB_STATES, JOB_TYPES, type JobEvent, type JobState, type JobType, nextState, refusalReason } from './job-state.js';
import { toRecord } from './table.js';
import { checkBoolean, checkInteger, checkKeys, checkNonEmptyText, checkObject, checkText, checkTime, describe } from './validate.js';

export type JobStats = Record<string, number>;

export interface JobProgress {
  bytesDone: number;
  bytesTotal: number;
  /** When it was written. */
  at: string;
}

export interface Job {
  id: string;
  type: JobType;
  state: JobState;
  machineId?: string;
  diskSerial?: string;
  devicePath?: string;
  imageId?: string;
  scheduleId?: string;
  /** A backup's label, kept until the image is made (a machine's job runs when it boots). */
  label?: string;
  /** What a machine's agent is told to do beyond the job's type (the end of the job, restore options). */
  options?: JobOptions;
  /** The disk the machine's agent chose, as it reported it when the job started. */
  agentDisk?: AgentDisk;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  /** What the end of the job means, in words (a cancelled backup made no image; a cancelled restore left its target incomplete). */
  outcome?: string;
  /** A restore that stopped after it began writing: the target holds part of the image and part of what was there. */
  targetIncomplete?: boolean;
  /** Final numbers (bytes read, new, stored…), set when the job ends. */
  stats?: JobStats;
  /** The last checkpoint: never per-second progress. */
  progress?: JobProgress;
  /** 'timer' or an operator name. */
  requestedBy: string;
  /** Every state the job went through, with when (oldest first). */
  history?: JobStateChange[];
  /** Its log lines, oldest first, at most JOB_LOG_CAP (older ones dropped and counted). */
  log?: JobLogLine[];
  /** How many log lines were dropped to keep the bound. */
  logDropped?: number;
}

export interface JobOptions {
  /** What the machine does after its job (default reboot). */
  end?: 'reboot' | 'poweroff';
  /** Restore: read the target back after writing. */
  verify?: boolean;
  /** Restore: check every chunk before the first write (default: yes on a machine's disk). */
  verifyFirst?: boolean;
  /** Restore: on a larger disk, enlarge the last partition and its filesystem. */
  growLast?: boolean;
  /** Backup: where the image goes when not into the appliance (a client's disk, a share). */
  destination?: JobDestination;
}

export interface AgentDisk {
  name: string;
  sizeBytes: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  model?: string;
  serial?: string;
}

export interface JobStateChange {
  state: JobState;
  at: string;
}

export interface JobLogLine {
  at: string;
  level: 'info' | 'warning' | 'error';
  message: string;
}

/** Log lines kept per job in the database (NeDB rewrites the document on every append). */
export const JOB_LOG_CAP = 200;

export type JobDoc = Omit<Job, 'id'> & { _id: string };

export interface NewJob {
  type: JobType;
  machineId?: string;
  diskSerial?: string;
  devicePath?: string;
  imageId?: string;
  scheduleId?: string;
  label?: string;
  options?: JobOptions;
  requestedBy: string;
}

export interface TransitionDetails {
  /** Required with 'fail'; a default is used for 'interrupt'. */
  error?: string;
  stats?: JobStats;
  /** The image a backup made. */
  imageId?: string;
  outcome?: string;
  targetIncomplete?: boolean;
  /** The progress it reached (kept when a job stops early). */
  progress?: { bytesDone: number; bytesTotal: number };
  /** With 'start' of a machine's job: the disk its agent chose. */
  agentDisk?: AgentDisk;
}

export interface JobFilter {
  state?: JobState | JobState[];
  machineId?: string;
  imageId?: string;
  scheduleId?: string;
  /** Only jobs created at or after this time (ISO). */
  since?: string;
  /** Newest first; default 200. */
  limit?: number;
}

export interface Jobs {
  /** Refused (conflict) while another active job holds the same disk or machine. */
  create(input: NewJob): Promise<Job>;
  get(id: string): Promise<Job>;
  find(id: string): Promise<Job | null>;
  list(filter?: JobFilter): Promise<Job[]>;
  /** Queued, waiting and running jobs, oldest first (queue order). */
  active(): Promise<Job[]>;
  transition(id: string, event: JobEvent, details?: TransitionDetails): Promise<Job>;
  /** Adds a log line to the job (kept in the database, bounded by JOB_LOG_CAP). */
  appendLog(id: string, line: { level: JobLogLine['level']; message: string; at?: string }): Promise<void>;
  /** Saves progress of a running job unless the last checkpoint is under 10 s old; true when written. */
  checkpoint(id: string, progress: { bytesDone: number; bytesTotal: number }): Promise<boolean>;
  /** At daemon start: every queued, waiting or running job becomes interrupted (nothing else would end it). Returns them. */
  markInterrupted(): Promise<Job[]>;
  /** Deletes ended jobs that finished before `at`; returns how many. */
  removeFinishedBefore(at: string): Promise<number>;
}

export const CHECKPOINT_INTERVAL_MS = 10_000;

/** Which disk a job holds. */
export type JobTarget = Pick<Job, 'machineId' | 'diskSerial' | 'devicePath'>;

/** True when two jobs would use the same disk. Pure. */
export function sameDisk(a: JobTarget, b: JobTarget): boolean {
  if (!a.machineId || !b.machineId) {
    // Local devices of the appliance: by path. A device path of a machine is another computer's.
    return !a.machineId && !b.machineId && a.devicePath !== undefined && a.devicePath === b.devicePath;
  }
  if (a.machineId !== b.machineId) return false;
  const whole = (t: JobTarget) => t.diskSerial === undefined && t.devicePath === undefined;
  if (whole(a) || whole(b)) return true;
  if (a.diskSerial !== undefined && b.diskSerial !== undefined) return a.diskSerial === b.diskSerial;
  return a.devicePath !== undefined && a.devicePath === b.devicePath;
}

const NEW_KEYS = ['type', 'machineId', 'diskSerial', 'devicePath', 'imageId', 'scheduleId', 'label', 'options', 'requestedBy'] as const;

function checkOptions(value: unknown): JobOptions {
  const v = checkObject('job options', value);
  checkKeys('job options', v, ['end', 'verify', 'verifyFirst', 'growLast', 'destination']);
  const out: JobOptions = {};
  if (v.end !== undefined) {
    if (v.end !== 'reboot' && v.end !== 'poweroff') throw userError(`the end of a job must be reboot or poweroff, not ${describe(v.end)}`);
    out.end = v.end;
  }
  for (const k of ['verify', 'verifyFirst', 'growLast'] as const) if (v[k] !== undefined) out[k] = checkBoolean(`job option ${k}`, v[k]);
  if (v.destination !== undefined) out.destination = checkDestination(v.destination);
  return out;
}

/** A recorded destination (a job's, a schedule's): the parsed form of the operator's text, read back through the same parser. */
export function checkDestination(value: unknown, what = 'job destination'): JobDestination {
  const d = checkObject(what, value);
  checkKeys(what, d, ['kind', 'label', 'uuid', 'name']);
  const parsed = (() => {
    try {
      return parseDestination(destinationText(d as JobDestination));
    } catch (err) {
      throw userError(`${what} ${describe(value)}: ${(err as Error).message}`);
    }
  })();
  if (!parsed || JSON.stringify(parsed) !== JSON.stringify(d)) throw userError(`${what} ${describe(value)} is not a client disk (label or uuid) or a share (name)`);
  return parsed;
}

function checkAgentDisk(value: unknown): AgentDisk {
  const v = checkObject('agent disk', value);
  checkKeys('agent disk', v, ['name', 'sizeBytes', 'logicalSectorSize', 'physicalSectorSize', 'model', 'serial']);
  const out: AgentDisk = {
    name: checkNonEmptyText('agent disk name', v.name, 64),
    sizeBytes: checkInteger('agent disk size', v.sizeBytes, 0, Number.MAX_SAFE_INTEGER),
    logicalSectorSize: checkInteger('agent disk logical sector size', v.logicalSectorSize, 512, 65536),
    physicalSectorSize: checkInteger('agent disk physical sector size', v.physicalSectorSize, 512, 1 << 20),
  };
  if (v.model !== undefined) out.model = checkText('agent disk model', v.model, 256);
  if (v.serial !== undefined) out.serial = checkText('agent disk serial', v.serial, 256);
  return out;
}

export function checkActor(value: unknown): string {
  return checkNonEmptyText('requested by (an operator name or "timer")', value, 64);
}

function checkStats(value: unknown): JobStats {
  const v = checkObject('job stats', value);
  const out: JobStats = {};
  for (const [k, n] of Object.entries(v)) {
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(k)) throw userError(`job stats field ${JSON.stringify(k).slice(0, 70)} is not a plain name`);
    if (typeof n !== 'number' || !Number.isFinite(n)) throw userError(`job stats field ${k} must be a number, not ${describe(n)}`);
    out[k] = n;
  }
  return out;
}

export function jobsCollection(ctx: StoreContext): Jobs {
  const { jobs, machines, disks, images, schedules } = ctx.tables;

  const find = async (id: string) => {
    const doc = await jobs.findOne({ _id: checkNonEmptyText('job id', id, 64) });
    return doc ? toRecord<Job>(doc) : null;
  };
  const get = async (id: string) => {
    const job = await find(id);
    if (!job) throw notFoundError(`no job ${id}: see \`lifeboat jobs list\``);
    return job;
  };

  const describeTarget = async (t: JobTarget) => {
    if (!t.machineId) return `device ${t.devicePath}`;
    const name = (await machines.findOne({ _id: t.machineId }))?.name ?? t.machineId;
    if (t.diskSerial === undefined && t.devicePath === undefined) return `machine ${name}`;
    return `disk ${t.diskSerial ?? t.devicePath} of machine ${name}`;
  };

  return {
    get,
    find,

    async create(input) {
      const v = checkObject('job', input);
      checkKeys('job', v, NEW_KEYS);
      if (!JOB_TYPES.includes(v.type as JobType)) throw userError(`job type must be one of ${JOB_TYPES.join(', ')}, not ${describe(v.type)}`);
      const type = v.type as JobType;
      const requestedBy = checkActor(v.requestedBy);
      const at = ctx.now().toISOString();
      const doc: JobDoc = { _id: newId(), type, state: 'queued', createdAt: at, updatedAt: at, requestedBy, history: [{ state: 'queued', at }] };
      if (v.machineId !== undefined) doc.machineId = checkNonEmptyText('machine id', v.machineId, 64);
      if (v.diskSerial !== undefined) doc.diskSerial = checkNonEmptyText('disk serial', v.diskSerial);
      if (v.devicePath !== undefined) doc.devicePath = checkDevicePath(v.devicePath);
      if (v.imageId !== undefined) doc.imageId = checkImageId(v.imageId);
      if (v.scheduleId !== undefined) doc.scheduleId = checkNonEmptyText('schedule id', v.scheduleId, 64);
      if (v.label !== undefined) doc.label = checkText('label', v.label);
      if (v.options !== undefined) doc.options = checkOptions(v.options);

      const hasTarget = doc.machineId !== undefined || doc.devicePath !== undefined;
      if (doc.diskSerial !== undefined && doc.machineId === undefined) throw userError('a job naming a disk serial must name its machine too');
      if ((type === 'backup' || type === 'restore') && !hasTarget) throw userError(`a ${type} job needs a machine or a device path`);
      if ((type === 'restore' || type === 'verify') && doc.imageId === undefined) throw userError(`a ${type} job needs an image`);
      if (type === 'backup' && doc.imageId !== undefined) throw userError('a backup job makes its image: do not give one');
      if (type !== 'backup' && doc.label !== undefined) throw userError(`a label names the image a backup makes: a ${type} job takes none`);
      if (type === 'verify' && hasTarget) throw userError('a verify job checks an image in the store: give no machine or device');
      if (type === 'inventory' && (doc.machineId === undefined || doc.devicePath !== undefined || doc.diskSerial !== undefined || doc.imageId !== undefined)) {
        throw userError('an inventory job names a machine and nothing else');
      }

      return ctx.lock.run(async () => {
        if (doc.machineId !== undefined) {
          if (!(await machines.findOne({ _id: doc.machineId }))) throw notFoundError(`no machine with id ${doc.machineId}: see \`lifeboat machines list\``);
          // A disk we know: record both its serial and its path, so either spelling finds the conflict.
          const key = doc.diskSerial ?? doc.devicePath;
          if (key !== undefined) {
            const known = (await disks.find({ machineId: doc.machineId }, { sort: { lastSeen: -1 } })).find((d) => d.serial === key || d.devicePath === key);
            if (known) {
              if (known.serial !== undefined) doc.diskSerial = known.serial;
              doc.devicePath = known.devicePath;
            }
          }
        }
        if (doc.imageId !== undefined && !(await images.findOne({ _id: doc.imageId }))) throw notFoundError(`no image ${doc.imageId}: see \`lifeboat images list\``);
        if (doc.scheduleId !== undefined && !(await schedules.findOne({ _id: doc.scheduleId }))) throw notFoundError(`no schedule with id ${doc.scheduleId}`);
        if (doc.machineId !== undefined || doc.devicePath !== undefined) {
          const busy = (await jobs.find({ state: { $in: ACTIVE_STATES } })).find((j) => sameDisk(j, doc));
          if (busy) {
            throw conflictError(
              `${await describeTarget(doc)} is busy: ${busy.type} job ${busy._id} (${busy.state}) uses ${await describeTarget(busy)}; wait for it to end or cancel it (\`lifeboat jobs cancel ${busy._id}\`)`,
            );
          }
        }
        return toRecord<Job>(await jobs.insert(doc));
      });
    },

    async list(filter = {}) {
      const f = checkObject('job filter', filter);
      checkKeys('job filter', f, ['state', 'machineId', 'imageId', 'scheduleId', 'since', 'limit']);
      const query: Record<string, unknown> = {};
      if (f.state !== undefined) {
        const states = Array.isArray(f.state) ? f.state : [f.state];
        for (const s of states) if (!JOB_STATES.includes(s)) throw userError(`job state must be one of ${JOB_STATES.join(', ')}, not ${describe(s)}`);
        query.state = { $in: states };
      }
      if (f.machineId !== undefined) query.machineId = checkNonEmptyText('machine id', f.machineId, 64);
      if (f.imageId !== undefined) query.imageId = checkImageId(f.imageId);
      if (f.scheduleId !== undefined) query.scheduleId = checkNonEmptyText('schedule id', f.scheduleId, 64);
      if (f.since !== undefined) query.createdAt = { $gte: checkTime('since', f.since) };
      const limit = f.limit === undefined ? 200 : checkInteger('limit', f.limit, 1, 100_000);
      return (await jobs.find(query, { sort: { createdAt: -1 }, limit })).map((d) => toRecord<Job>(d));
    },

    async active() {
      return (await jobs.find({ state: { $in: ACTIVE_STATES } }, { sort: { createdAt: 1 } })).map((d) => toRecord<Job>(d));
    },

    async transition(id, event, details = {}) {
      if (!JOB_EVENTS.includes(event)) throw userError(`job event must be one of ${JOB_EVENTS.join(', ')}, not ${describe(event)}`);
      const d = checkObject('transition details', details);
      checkKeys('transition details', d, ['error', 'stats', 'imageId', 'outcome', 'targetIncomplete', 'progress', 'agentDisk']);
      return ctx.lock.run(async () => {
        const job = await get(id);
        const state = nextState(job.state, event);
        if (state === null) throw conflictError(`job ${job.id} (${job.type}): ${refusalReason(job.state, event)}`);
        const at = ctx.now().toISOString();
        const { id: _id, ...rest } = job;
        const doc: JobDoc = { _id, ...rest, state, updatedAt: at, history: [...(job.history ?? []), { state, at }] };
        if (state === 'running') doc.startedAt = at;
        if (!ACTIVE_STATES.includes(state)) doc.finishedAt = at;
        if (d.error !== undefined) doc.error = checkText('job error', d.error, 4096, true);
        else if (event === 'fail') throw userError(`failing job ${job.id} needs an error message that says what went wrong`);
        else if (event === 'interrupt') doc.error = `the daemon stopped while the job was ${job.state}: start it again`;
        if (d.stats !== undefined) doc.stats = checkStats(d.stats);
        if (d.imageId !== undefined) doc.imageId = checkImageId(d.imageId);
        if (d.outcome !== undefined) doc.outcome = checkText('job outcome', d.outcome, 4096, true);
        if (d.targetIncomplete !== undefined) {
          if (typeof d.targetIncomplete !== 'boolean') throw userError(`targetIncomplete must be true or false, not ${describe(d.targetIncomplete)}`);
          doc.targetIncomplete = d.targetIncomplete;
        }
        if (d.agentDisk !== undefined) doc.agentDisk = checkAgentDisk(d.agentDisk);
        if (d.progress !== undefined) {
          const p = checkObject('job progress', d.progress);
          checkKeys('job progress', p, ['bytesDone', 'bytesTotal']);
          const bytesTotal = checkInteger('bytesTotal', p.bytesTotal);
          doc.progress = { bytesDone: checkInteger('bytesDone', p.bytesDone, 0, bytesTotal), bytesTotal, at };
        }
        await jobs.replace(doc);
        return toRecord<Job>(doc);
      });
    },

    async appendLog(id, line) {
      const l = checkObject('job log line', line);
      checkKeys('job log line', l, ['level', 'message', 'at']);
      if (!['info', 'warning', 'error'].includes(l.level as string)) throw userError(`log level must be info, warning or error, not ${describe(l.level)}`);
      const entry: JobLogLine = { at: l.at === undefined ? ctx.now().toISOString() : checkTime('log time', l.at), level: l.level as JobLogLine['level'], message: checkText('log message', l.message, 4096, true) };
      await ctx.lock.run(async () => {
        const job = await get(id);
        const log = [...(job.log ?? []), entry];
        const dropped = Math.max(0, log.length - JOB_LOG_CAP);
        const { id: _id, ...rest } = job;
        await jobs.replace({ _id, ...rest, log: log.slice(dropped), ...(dropped + (job.logDropped ?? 0) > 0 ? { logDropped: (job.logDropped ?? 0) + dropped } : {}) });
      });
    },

    async checkpoint(id, progress) {
      const p = checkObject('job progress', progress);
      checkKeys('job progress', p, ['bytesDone', 'bytesTotal']);
      const bytesTotal = checkInteger('bytesTotal', p.bytesTotal);
      const bytesDone = checkInteger('bytesDone', p.bytesDone, 0, bytesTotal);
      return ctx.lock.run(async () => {
        const job = await get(id);
        if (job.state !== 'running') throw conflictError(`job ${job.id} is ${job.state}, not running: no progress to save`);
        const now = ctx.now();
        if (job.progress && now.getTime() - Date.parse(job.progress.at) < CHECKPOINT_INTERVAL_MS) return false;
        const { id: _id, ...rest } = job;
        await jobs.replace({ _id, ...rest, progress: { bytesDone, bytesTotal, at: now.toISOString() }, updatedAt: now.toISOString() });
        return true;
      });
    },

    async markInterrupted() {
      return ctx.lock.run(async () => {
        const changed: Job[] = [];
        for (const doc of await jobs.find({ state: { $in: ['queued', 'waiting-for-boot', 'booting', 'running', 'cancelling'] } }, { sort: { createdAt: 1 } })) {
          const at = ctx.now().toISOString();
          const next: JobDoc = { ...doc, state: 'interrupted', finishedAt: at, updatedAt: at, history: [...(doc.history ?? []), { state: 'interrupted', at }], error: `${doc.state === 'queued' ? 'the daemon stopped before the job started' : `the daemon stopped while the job was ${doc.state}`}: start it again` };
          // A restore that was writing when the daemon died left its target half-written.
          if (doc.type === 'restore' && doc.machineId === undefined && doc.state !== 'waiting-for-boot' && doc.state !== 'booting') {
            next.targetIncomplete = true;
            next.outcome = `interrupted: ${doc.devicePath ?? 'the target'} may be incomplete — do not use it; restore it again`;
          }
          await jobs.replace(next);
          changed.push(toRecord<Job>(next));
        }
        return changed;
      });
    },

    async removeFinishedBefore(at) {
      const before = checkTime('finished before', at);
      return ctx.lock.run(() => jobs.remove({ state: { $nin: ACTIVE_STATES }, finishedAt: { $lt: before } }, true));
    },
  };
}
