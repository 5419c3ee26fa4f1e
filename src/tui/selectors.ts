// Derived views of DataState for the screens, pure: the rows each list shows (in order,
// filtered), what a machine is doing, who a job is about.
import type { JobView, LocalDevice, Machine, ScheduleView } from '../api/contract.js';
import type { DataState, ImageView } from './data-state.js';
import { age } from './format.js';
import { type Screen, applyFilter } from './ui-state.js';

export type MachineRow = { kind: 'machine'; machine: Machine } | { kind: 'device'; device: LocalDevice };

export interface MachineStatus {
  now: 'in boot OS' | 'waiting for boot' | 'offline';
  lastBackup: string;
  lastBackupOk: boolean | null;
  /** Its last good backup is older than its schedule promises (from the daemon), with the promise. */
  overdue: NonNullable<Machine['backupPromise']> | null;
}

const ACTIVE = new Set(['queued', 'waiting-for-boot', 'booting', 'running', 'cancelling']);
export const isActiveJob = (j: JobView) => ACTIVE.has(j.state);
const newestFirst = (a: { createdAt: string }, b: { createdAt: string }) => b.createdAt.localeCompare(a.createdAt);

export function machineStatus(machine: Machine, jobs: readonly JobView[], now: number): MachineStatus {
  const mine = jobs.filter((j) => j.machineId === machine.id);
  const running = mine.some((j) => j.state === 'running');
  const waiting = mine.some((j) => j.state === 'waiting-for-boot' || j.state === 'booting');
  const last = mine.filter((j) => j.type === 'backup' && !ACTIVE.has(j.state)).sort((a, b) => (b.finishedAt ?? b.updatedAt).localeCompare(a.finishedAt ?? a.updatedAt))[0];
  const promise = machine.backupPromise?.overdue ? machine.backupPromise : null;
  const lastBackup = last ? `${age(last.finishedAt ?? last.updatedAt, now)} ago ${last.state === 'done' ? 'ok' : last.state}` : 'never';
  return {
    now: running ? 'in boot OS' : waiting ? 'waiting for boot' : 'offline',
    lastBackup: promise ? `OVERDUE ${promise.lastGood ? `ok ${age(promise.lastGood, now)} ago` : 'never ok'}` : lastBackup,
    lastBackupOk: last ? last.state === 'done' : null,
    overdue: promise,
  };
}

export function jobSubject(job: JobView, data: Pick<DataState, 'machines'>): string {
  if (job.machineId) {
    const m = data.machines.find((x) => x.id === job.machineId);
    return `${m?.name ?? job.machineId}${job.diskSerial ? `:${job.diskSerial}` : ''}`;
  }
  return job.devicePath ?? job.imageId ?? '-';
}

const machineText = (r: MachineRow) => (r.kind === 'machine' ? [r.machine.name, r.machine.group, r.machine.model, r.machine.vendor, ...r.machine.macs].join(' ') : [r.device.path, r.device.model, r.device.serial, 'docked'].join(' '));
const imageText = (i: ImageView, data: DataState) => [i.id, i.label, i.host, i.sourcePath, i.diskModel, i.diskSerial, data.machines.find((m) => m.id === i.machineId)?.name].join(' ');
const jobText = (j: JobView, data: DataState) => [j.id, j.type, j.state, jobSubject(j, data), j.imageId].join(' ');
/** What a schedule backs up, in a few words (machines, a group, or docked devices). */
export function scheduleTargets(s: ScheduleView): string {
  const t = s.target as { machines?: string[]; group?: string; devices?: string[] };
  if (t.machines) return t.machines.join(',');
  if (t.group) return `group ${t.group}`;
  return t.devices ? `device ${t.devices.join(',')}` : '?';
}
const scheduleText = (s: ScheduleView) => [s.name, s.calendar, scheduleTargets(s)].join(' ');

export function machineRows(data: DataState, filter: string): MachineRow[] {
  const rows: MachineRow[] = [...data.machines.map((machine) => ({ kind: 'machine' as const, machine })), ...data.devices.map((device) => ({ kind: 'device' as const, device }))];
  return applyFilter(rows, filter, machineText);
}
export const imageRows = (data: DataState, filter: string): ImageView[] => applyFilter([...data.images].sort(newestFirst), filter, (i) => imageText(i, data));
/** Active jobs first, then newest first. */
export const jobRows = (data: DataState, filter: string): JobView[] =>
  applyFilter(
    [...data.jobs].sort((a, b) => Number(isActiveJob(b)) - Number(isActiveJob(a)) || newestFirst(a, b)),
    filter,
    (j) => jobText(j, data),
  );
export const scheduleRows = (data: DataState, filter: string): ScheduleView[] => applyFilter(data.schedules, filter, scheduleText);

/** The identity of each selectable row of a screen, in order. */
export function rowKeys(screen: Screen, data: DataState, filter: string): string[] {
  switch (screen) {
    case 'machines':
      return machineRows(data, filter).map((r) => (r.kind === 'machine' ? `machine ${r.machine.name}` : `device ${r.device.path}`));
    case 'images':
      return imageRows(data, filter).map((i) => i.id);
    case 'jobs':
      return jobRows(data, filter).map((j) => j.id);
    case 'schedules':
      return scheduleRows(data, filter).map((s) => s.name);
    default:
      return [];
  }
}

/** The selected row's index: where its key is now, else the remembered index within bounds. */
export function selectedIndex(keys: readonly string[], key: string | null, index: number): number {
  const at = key === null ? -1 : keys.indexOf(key);
  return at >= 0 ? at : Math.min(index, Math.max(0, keys.length - 1));
}
