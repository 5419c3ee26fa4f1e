// The console's copy of the daemon's world: lists fetched over the API, live job
// progress, a throughput history and a log per job, and the connection state. A pure
// reducer; use-daemon.ts feeds it. History and logs live only in this process's memory
// (capped), never asked of the daemon, so each console has its own since it started.
import type { ApplianceStatus, ImageRecord, JobView, LiveEvent, LocalDevice, Machine, MachineWithDisks, ScheduleView } from '../api/contract.js';

export const RATE_HISTORY = 240;
export const LOG_LINES = 200;

export type Connection = { status: 'connecting' } | { status: 'online' } | { status: 'reconnecting'; attempt: number; error: string; retryInMs: number };

export interface LogLine {
  at: string;
  level: 'info' | 'warning' | 'error';
  message: string;
}

/** An image as listed, plus the smallest target it fits (the lead adds the field to ImageRecord). */
export type ImageView = ImageRecord & { minTargetBytes?: number | null };

/** Lists that could not be fetched: the error text per list, shown where the list would be. */
export type ListName = 'machines' | 'images' | 'jobs' | 'schedules' | 'appliance' | 'devices';

export interface DataState {
  connection: Connection;
  machines: Machine[];
  /** Full records (with disks) fetched for machines the operator looked at. */
  machineDetails: Record<string, MachineWithDisks>;
  images: ImageView[];
  jobs: JobView[];
  schedules: ScheduleView[];
  appliance: ApplianceStatus | null;
  devices: LocalDevice[];
  errors: Partial<Record<ListName, string>>;
  /** rateBps samples per job, oldest first. */
  rates: Record<string, number[]>;
  logs: Record<string, LogLine[]>;
  /** Log events that name no job. */
  systemLog: LogLine[];
  loadedAt: number | null;
}

export type DataAction =
  | { type: 'connection'; connection: Connection }
  | { type: 'loaded'; at: number; /** The lists this load fetched (errors of the others stay). */ names: ListName[]; lists: Partial<Pick<DataState, 'machines' | 'images' | 'jobs' | 'schedules' | 'appliance' | 'devices'>>; errors: Partial<Record<ListName, string>> }
  | { type: 'machine-detail'; machine: MachineWithDisks }
  | { type: 'event'; event: LiveEvent; at: string }
  | { type: 'job-created'; job: JobView };

export const initialData: DataState = {
  connection: { status: 'connecting' },
  machines: [],
  machineDetails: {},
  images: [],
  jobs: [],
  schedules: [],
  appliance: null,
  devices: [],
  errors: {},
  rates: {},
  logs: {},
  systemLog: [],
  loadedAt: null,
};

const capped = <T>(list: readonly T[] | undefined, item: T, cap: number): T[] => [...(list ?? []).slice(-(cap - 1)), item];

function upsertJob(jobs: JobView[], id: string, patch: (j: JobView) => JobView): JobView[] {
  const i = jobs.findIndex((j) => j.id === id);
  if (i < 0) return jobs;
  const next = jobs.slice();
  next[i] = patch(jobs[i] as JobView);
  return next;
}

function onEvent(state: DataState, event: LiveEvent, at: string): DataState {
  switch (event.type) {
    case 'job-progress': {
      const rates = { ...state.rates, [event.jobId]: capped(state.rates[event.jobId], event.progress.rateBps, RATE_HISTORY) };
      const jobs = upsertJob(state.jobs, event.jobId, (j) => ({ ...j, state: j.state === 'queued' || j.state === 'waiting-for-boot' || j.state === 'booting' ? 'running' : j.state, live: event.progress }));
      return { ...state, rates, jobs };
    }
    case 'job-state': {
      const jobs = upsertJob(state.jobs, event.jobId, (j) => ({ ...j, state: event.state as JobView['state'], ...(event.error ? { error: event.error } : {}) }));
      const line: LogLine = { at, level: event.state === 'failed' ? 'error' : 'info', message: `now ${event.state}${event.error ? `: ${event.error}` : ''}` };
      return { ...state, jobs, logs: { ...state.logs, [event.jobId]: capped(state.logs[event.jobId], line, LOG_LINES) } };
    }
    case 'log': {
      const line: LogLine = { at: event.at, level: event.level, message: event.message };
      if (!event.jobId) return { ...state, systemLog: capped(state.systemLog, line, LOG_LINES) };
      return { ...state, logs: { ...state.logs, [event.jobId]: capped(state.logs[event.jobId], line, LOG_LINES) } };
    }
    default:
      return state;
  }
}

export function dataReducer(state: DataState, action: DataAction): DataState {
  switch (action.type) {
    case 'connection':
      return { ...state, connection: action.connection };
    case 'loaded': {
      const lists = { ...action.lists };
      // A fresh job list has no live field for jobs the event stream already reported: keep ours.
      if (lists.jobs) lists.jobs = lists.jobs.map((j) => ({ ...j, live: j.live ?? (j.state === 'running' ? state.jobs.find((o) => o.id === j.id)?.live : undefined) }));
      const names = lists.machines ? new Set(lists.machines.map((m) => m.name)) : null;
      const machineDetails = names ? Object.fromEntries(Object.entries(state.machineDetails).filter(([n]) => names.has(n))) : state.machineDetails;
      const errors = Object.fromEntries(Object.entries(state.errors).filter(([n]) => !action.names.includes(n as ListName)));
      return { ...state, ...lists, machineDetails, errors: { ...errors, ...action.errors }, loadedAt: action.at };
    }
    case 'machine-detail':
      return { ...state, machineDetails: { ...state.machineDetails, [action.machine.name]: action.machine } };
    case 'event':
      return onEvent(state, action.event, action.at);
    case 'job-created':
      return state.jobs.some((j) => j.id === action.job.id) ? state : { ...state, jobs: [action.job, ...state.jobs] };
    default:
      return state;
  }
}

/** Whether an event means the lists are stale (a job ended: images, machines' last backups changed). */
export function needsRefresh(event: LiveEvent, state: DataState): boolean {
  if (event.type === 'job-state') return true;
  return event.type === 'job-progress' && !state.jobs.some((j) => j.id === event.jobId);
}
