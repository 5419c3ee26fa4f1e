// Schedules: which machines (a list of names, or a group), when (systemd OnCalendar
// text, stored as given: `systemd-analyze calendar` is the judge of its syntax), and
// which images to keep. Machines are named by name; renaming a machine renames it here
// too, and a machine a schedule names cannot be removed. A retention with no field set
// keeps every image. A schedule of machines may send their backups to a destination (a
// disk attached to each machine, a share: the job's `--to`); one of docked disks may not.
// A stored record that does not read back (edited by hand, damaged) is left out of list()
// and reported by unreadable(), never a reason for the others to fail.
import type { JobDestination } from '../api/destination.js';
import { conflictError, notFoundError, userError } from '../errors.js';
import { type StoreContext, newId } from './context.js';
import { checkDevicePath } from './disks.js';
import { checkDestination } from './jobs.js';
import { toRecord } from './table.js';
import { checkBoolean, checkInteger, checkKeys, checkName, checkNonEmptyText, checkObject, checkPassphrasePath, checkTime, describe } from './validate.js';

/** Machines by name, every machine of a group, or disks docked in the appliance by device path. */
export type ScheduleTarget = { machines: string[] } | { group: string } | { devices: string[] };

export interface Retention {
  keepLast?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
}

export interface Schedule {
  id: string;
  name: string;
  target: ScheduleTarget;
  calendar: string;
  retention: Retention;
  enabled: boolean;
  /** Its backups are protected by the passphrase on the first line of this file (the path only: the daemon reads it at run time). */
  passphraseFile?: string;
  /** Where its machines' backups go (absent: the appliance). */
  destination?: JobDestination;
  createdAt: string;
  updatedAt: string;
  lastRunAt?: string;
}

export type ScheduleDoc = Omit<Schedule, 'id'> & { _id: string };

export interface NewSchedule {
  name: string;
  target: ScheduleTarget;
  calendar: string;
  retention?: Retention;
  /** Default true. */
  enabled?: boolean;
  passphraseFile?: string;
  destination?: JobDestination;
}

/** passphraseFile null: its backups are no longer protected by a passphrase; destination null: they go to the appliance again. */
export type SchedulePatch = Partial<Omit<NewSchedule, 'retention' | 'passphraseFile' | 'destination'>> & { retention?: Retention; passphraseFile?: string | null; destination?: JobDestination | null };

export interface Schedules {
  add(input: NewSchedule): Promise<Schedule>;
  get(name: string): Promise<Schedule>;
  find(name: string): Promise<Schedule | null>;
  /** Sorted by name. */
  list(): Promise<Schedule[]>;
  /** Stored records that do not read back as a schedule, with why (list() leaves them out). */
  unreadable(): Promise<Array<{ id: string; name: string; error: string }>>;
  edit(name: string, patch: SchedulePatch): Promise<Schedule>;
  markRun(name: string, at?: string): Promise<Schedule>;
  remove(name: string): Promise<Schedule>;
}

const RETENTION_KEYS = ['keepLast', 'daily', 'weekly', 'monthly'] as const;

export function checkRetention(value: unknown): Retention {
  const v = checkObject('retention', value);
  checkKeys('retention', v, RETENTION_KEYS);
  const out: Retention = {};
  for (const k of RETENTION_KEYS) if (v[k] !== undefined) out[k] = checkInteger(`retention ${k}`, v[k], 1, 100_000);
  return out;
}

export function checkCalendar(value: unknown): string {
  const text = checkNonEmptyText('calendar (systemd OnCalendar text, like "daily" or "Mon..Fri 22:00")', value, 256);
  if ([...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw userError(`calendar ${JSON.stringify(text).slice(0, 80)} holds a control character: write it on one line, like "Mon..Fri 22:00"`);
  return text;
}

/** A destination goes with machines (their agents write there) and no restore passphrase (its store is not the appliance's). */
function checkDestinationFits(s: Pick<Schedule, 'name' | 'target' | 'destination' | 'passphraseFile'>): void {
  if (!s.destination) return;
  if ('devices' in s.target) throw userError(`schedule "${s.name}" backs up disks docked in the appliance, which are backed up into the appliance: a destination (--to) is for machines' backups (their agents write there)`);
  if (s.passphraseFile !== undefined) throw userError(`schedule "${s.name}": a passphrase file protects images in the appliance's store; an image sent elsewhere carries none: give no passphrase file with a destination other than the appliance`);
}

/** A stored schedule as it must read back; throws what is wrong with it. */
export function readSchedule(doc: ScheduleDoc): Schedule {
  const s = toRecord<Schedule>(doc);
  const name = checkName('schedule', s.name);
  const target = checkTarget(s.target);
  const read: Schedule = { ...s, name, target, calendar: checkCalendar(s.calendar), retention: checkRetention(s.retention), enabled: checkBoolean('enabled', s.enabled) };
  if (s.destination !== undefined) read.destination = checkDestination(s.destination, 'schedule destination');
  checkDestinationFits(read);
  return read;
}

function checkTarget(value: unknown): ScheduleTarget {
  const v = checkObject('schedule target', value);
  if (['machines', 'group', 'devices'].filter((k) => k in v).length > 1) throw userError('a schedule names machines, a group or devices: one of them');
  if ('devices' in v) {
    checkKeys('schedule target', v, ['devices']);
    if (!Array.isArray(v.devices) || v.devices.length === 0) throw userError(`a schedule's devices are a list of device paths, not ${describe(v.devices)}`);
    return { devices: [...new Set(v.devices.map((d: unknown) => checkDevicePath(d)))] };
  }
  if ('group' in v) {
    checkKeys('schedule target', v, ['group']);
    return { group: checkName('group', v.group) };
  }
  checkKeys('schedule target', v, ['machines']);
  if (!Array.isArray(v.machines) || v.machines.length === 0) throw userError(`a schedule needs a list of machine names or a group, not ${describe(v.machines)}`);
  return { machines: [...new Set(v.machines.map((n: unknown) => checkName('machine', n)))] };
}

export function schedulesCollection(ctx: StoreContext): Schedules {
  const { schedules, machines } = ctx.tables;

  const find = async (name: string) => {
    const doc = await schedules.findOne({ name: checkName('schedule', name) });
    if (!doc) return null;
    try {
      return readSchedule(doc);
    } catch (err) {
      throw userError(`the stored schedule "${name}" does not read back (${(err as Error).message}): remove it with \`lifeboat schedule rm ${name}\` and add it again`);
    }
  };
  const get = async (name: string) => {
    const s = await find(name);
    if (!s) throw notFoundError(`no schedule named "${name}": see \`lifeboat schedule list\``);
    return s;
  };
  const assertMachinesExist = async (target: ScheduleTarget) => {
    if (!('machines' in target)) return;
    const missing: string[] = [];
    for (const name of target.machines) if (!(await machines.findOne({ name }))) missing.push(name);
    if (missing.length > 0) throw notFoundError(`no machine named ${missing.map((n) => `"${n}"`).join(', ')}: add it first or check the name (\`lifeboat machines list\`)`);
  };
  const save = async (s: Schedule) => {
    const { id, ...rest } = s;
    await schedules.replace({ _id: id, ...rest });
    return s;
  };

  return {
    get,
    find,

    async add(input) {
      const v = checkObject('schedule', input);
      checkKeys('schedule', v, ['name', 'target', 'calendar', 'retention', 'enabled', 'passphraseFile', 'destination']);
      const at = ctx.now().toISOString();
      const doc: ScheduleDoc = {
        _id: newId(),
        name: checkName('schedule', v.name),
        target: checkTarget(v.target),
        calendar: checkCalendar(v.calendar),
        retention: v.retention === undefined ? {} : checkRetention(v.retention),
        enabled: v.enabled === undefined ? true : checkBoolean('enabled', v.enabled),
        ...(v.passphraseFile === undefined ? {} : { passphraseFile: checkPassphrasePath(v.passphraseFile) }),
        ...(v.destination === undefined ? {} : { destination: checkDestination(v.destination, 'schedule destination') }),
        createdAt: at,
        updatedAt: at,
      };
      checkDestinationFits(doc);
      return ctx.lock.run(async () => {
        if (await schedules.findOne({ name: doc.name })) throw conflictError(`a schedule named "${doc.name}" already exists: choose another name, or edit that schedule`);
        await assertMachinesExist(doc.target);
        return toRecord<Schedule>(await schedules.insert(doc));
      });
    },

    async list() {
      return (await schedules.find({}, { sort: { name: 1 } })).flatMap((d) => {
        try {
          return [readSchedule(d)];
        } catch {
          return []; // unreadable() says why
        }
      });
    },

    async unreadable() {
      return (await schedules.find({}, { sort: { name: 1 } })).flatMap((d) => {
        try {
          readSchedule(d);
          return [];
        } catch (err) {
          return [{ id: String(d._id), name: typeof d.name === 'string' ? d.name : describe(d.name), error: (err as Error).message }];
        }
      });
    },

    async edit(name, patch) {
      const v = checkObject('schedule change', patch);
      checkKeys('schedule change', v, ['name', 'target', 'calendar', 'retention', 'enabled', 'passphraseFile', 'destination']);
      return ctx.lock.run(async () => {
        const s = await get(name);
        if (v.name !== undefined) {
          const renamed = checkName('schedule', v.name);
          if (renamed !== s.name && (await schedules.findOne({ name: renamed }))) throw conflictError(`a schedule named "${renamed}" already exists: choose another name`);
          s.name = renamed;
        }
        if (v.target !== undefined) {
          s.target = checkTarget(v.target);
          await assertMachinesExist(s.target);
        }
        if (v.calendar !== undefined) s.calendar = checkCalendar(v.calendar);
        if (v.retention !== undefined) s.retention = checkRetention(v.retention);
        if (v.enabled !== undefined) s.enabled = checkBoolean('enabled', v.enabled);
        if (v.passphraseFile === null) delete s.passphraseFile;
        else if (v.passphraseFile !== undefined) s.passphraseFile = checkPassphrasePath(v.passphraseFile);
        if (v.destination === null) delete s.destination;
        else if (v.destination !== undefined) s.destination = checkDestination(v.destination, 'schedule destination');
        checkDestinationFits(s);
        s.updatedAt = ctx.now().toISOString();
        return save(s);
      });
    },

    async markRun(name, at) {
      const when = at === undefined ? ctx.now().toISOString() : checkTime('run time', at);
      return ctx.lock.run(async () => save({ ...(await get(name)), lastRunAt: when }));
    },

    async remove(name) {
      return ctx.lock.run(async () => {
        // An unreadable record can be removed too (that is the advice find() gives).
        const doc = await schedules.findOne({ name: checkName('schedule', name) });
        if (!doc) throw notFoundError(`no schedule named "${name}": see \`lifeboat schedule list\``);
        await schedules.remove({ _id: doc._id });
        try {
          return readSchedule(doc);
        } catch {
          return { id: doc._id, name, target: { machines: [] }, calendar: '', retention: {}, enabled: false, createdAt: String(doc.createdAt), updatedAt: String(doc.updatedAt) };
        }
      });
    },
  };
}
