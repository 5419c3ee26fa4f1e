// The wall dashboard's data model: one pure reducer from what the daemon tells us
// (snapshots and live events) and the clock ticks to a state, and pure views from that
// state to exactly what each widget shows. No blessed, no sockets, no timers here.
import { escapeForTerminal } from '../text.js';
import type { ApplianceStatus, AuditEvent, JobView, LiveEvent, Machine, ThroughputHistory } from '../api/contract.js';
import type { ProgressEvent } from '../imaging/progress.js';
import { formatBytes, formatDuration, mbps } from '../format.js';
import { type FailedJob, type OverdueMachine, failedJobs, overdueMachines, storeUsage } from './panels.js';

/** One throughput sample per tick (1 s): three minutes, so a job of a few seconds is still more than a sliver. */
export const SERIES_LENGTH = 180;
/** Lines kept for the events log. */
export const LOG_LENGTH = 100;
/** A running job whose last progress is older than this counts 0 B/s in the chart. */
export const STALE_PROGRESS_MS = 5000;

const ACTIVE = new Set(['queued', 'waiting-for-boot', 'booting', 'running', 'cancelling']);

export interface JobEntry {
  id: string;
  type: string;
  state: string;
  target: string;
  progress?: ProgressEvent;
  /** When the last progress arrived (ms since epoch, from the clock of the action). */
  progressAt?: number;
}

export interface LogLine {
  /** ISO time. */
  at: string;
  text: string;
  level: 'info' | 'warning' | 'error';
  /** Dedup key: audit events arrive again with each snapshot. */
  key: string;
  /** The job the line is about: named when shown, so a job learnt of later still gets its type and target. */
  jobId?: string;
}

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface DashboardState {
  connection: Connection;
  /** Why we are reconnecting (the client's message). */
  connectionError: string | null;
  appliance: ApplianceStatus | null;
  /** Why the appliance status is missing or old (e.g. the route answers 404). */
  applianceError: string | null;
  /** Active jobs by id, in the order they were first seen. */
  jobs: Record<string, JobEntry>;
  /** Aggregate bytes per second, oldest first, at most SERIES_LENGTH. */
  throughput: number[];
  log: LogLine[];
  /** Jobs we saw once, so a job-state line can say what kind of job ended. */
  known: Record<string, { type: string; target: string }>;
  /** The last hour of throughput as the daemon kept it (10 s samples). */
  history: ThroughputHistory['samples'];
  /** Jobs that failed or were interrupted in the last day, newest first. */
  failed: FailedJob[];
  /** Machines whose last good backup is older than their schedule promises. */
  overdue: OverdueMachine[];
}

export type DashboardAction =
  | { type: 'connected' }
  | { type: 'disconnected'; message: string }
  | { type: 'jobs'; jobs: JobView[]; now: number }
  | { type: 'audit'; events: AuditEvent[] }
  | { type: 'appliance'; status: ApplianceStatus }
  | { type: 'appliance-error'; message: string }
  | { type: 'live'; event: LiveEvent; now: number }
  | { type: 'tick'; now: number }
  | { type: 'history'; history: ThroughputHistory }
  | { type: 'machines'; machines: Machine[] };

export function initialState(): DashboardState {
  return { connection: 'connecting', connectionError: null, appliance: null, applianceError: null, jobs: {}, throughput: [], log: [], known: {}, history: [], failed: [], overdue: [] };
}

export function targetOf(j: Pick<JobView, 'devicePath' | 'machineId' | 'diskSerial' | 'imageId' | 'type'>): string {
  if (j.devicePath) return j.devicePath;
  if (j.machineId) return j.diskSerial ? `${j.machineId}:${j.diskSerial}` : j.machineId;
  return j.type === 'verify' && j.imageId ? j.imageId : '?';
}

export function reduce(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'connected':
      return { ...state, connection: 'live', connectionError: null };
    case 'disconnected':
      // Progress we hold may be stale from here on: the chart must not keep showing it.
      return { ...state, connection: 'reconnecting', connectionError: action.message, jobs: mapJobs(state.jobs, ({ progress: _p, progressAt: _a, ...rest }) => rest) };
    case 'jobs': {
      const jobs: Record<string, JobEntry> = {};
      const known = { ...state.known };
      for (const j of action.jobs) {
        known[j.id] = { type: j.type, target: targetOf(j) };
        if (!ACTIVE.has(j.state)) continue;
        const before = state.jobs[j.id];
        const progress = j.live ?? before?.progress;
        jobs[j.id] = { id: j.id, type: j.type, state: j.state, target: targetOf(j), ...(progress ? { progress, progressAt: j.live ? action.now : (before?.progressAt ?? action.now) } : {}) };
      }
      return { ...state, jobs, known, failed: failedJobs(action.jobs, (j) => (j.machineName ? `${j.machineName}${j.diskSerial ? `:${j.diskSerial}` : ''}` : targetOf(j)), action.now) };
    }
    case 'history':
      return { ...state, history: action.history.samples };
    case 'machines':
      return { ...state, overdue: overdueMachines(action.machines) };
    case 'audit':
      return { ...state, log: mergeLog(state.log, action.events.map(auditLine)) };
    case 'appliance':
      return { ...state, appliance: action.status, applianceError: null };
    case 'appliance-error':
      return { ...state, applianceError: action.message };
    case 'live':
      return applyLive(state, action.event, action.now);
    case 'tick': {
      const sample = Object.values(state.jobs).reduce((sum, j) => sum + (j.state === 'running' && j.progress && j.progressAt !== undefined && action.now - j.progressAt <= STALE_PROGRESS_MS ? j.progress.rateBps : 0), 0);
      const throughput = [...state.throughput, sample].slice(-SERIES_LENGTH);
      return { ...state, throughput };
    }
  }
}

function applyLive(state: DashboardState, e: LiveEvent, now: number): DashboardState {
  switch (e.type) {
    case 'job-progress': {
      const before = state.jobs[e.jobId];
      const known = state.known[e.jobId];
      const entry: JobEntry = before ?? { id: e.jobId, type: known?.type ?? e.progress.operation, state: 'running', target: known?.target ?? '?' };
      return { ...state, jobs: { ...state.jobs, [e.jobId]: { ...entry, state: 'running', progress: e.progress, progressAt: now } } };
    }
    case 'job-state': {
      const what = state.jobs[e.jobId] ?? state.known[e.jobId];
      const jobs = { ...state.jobs };
      if (ACTIVE.has(e.state)) {
        const before = jobs[e.jobId];
        if (before) jobs[e.jobId] = { ...before, state: e.state };
        else jobs[e.jobId] = { id: e.jobId, type: what?.type ?? 'job', state: e.state, target: what?.target ?? '?' };
      } else delete jobs[e.jobId];
      const level = e.state === 'failed' || e.state === 'interrupted' ? 'error' : e.state === 'cancelled' ? 'warning' : 'info';
      const at = new Date(now).toISOString();
      const line: LogLine = { at, text: `${e.state}${e.error ? `: ${e.error}` : ''}`, level, key: `state:${e.jobId}:${e.state}`, jobId: e.jobId };
      return { ...state, jobs, log: mergeLog(state.log, [line]) };
    }
    case 'log': {
      const line: LogLine = { at: e.at, text: e.message, level: e.level, key: `log:${e.at}:${e.jobId ?? ''}:${e.message}`, ...(e.jobId ? { jobId: e.jobId } : {}) };
      return { ...state, log: mergeLog(state.log, [line]) };
    }
  }
}

function mapJobs(jobs: Record<string, JobEntry>, f: (j: JobEntry) => JobEntry): Record<string, JobEntry> {
  return Object.fromEntries(Object.entries(jobs).map(([k, v]) => [k, f(v)]));
}

function auditLine(e: AuditEvent): LogLine {
  return { at: e.at, text: `${e.actor}: ${e.action} ${e.subject}`, level: 'info', key: `audit:${e.seq}` };
}

/** Adds lines not seen yet, keeps time order (stable for equal times), keeps the newest LOG_LENGTH. */
export function mergeLog(log: LogLine[], lines: LogLine[]): LogLine[] {
  const seen = new Set(log.map((l) => l.key));
  const fresh: LogLine[] = [];
  for (const l of lines) {
    if (seen.has(l.key)) continue;
    seen.add(l.key);
    fresh.push(l);
  }
  if (fresh.length === 0) return log;
  return [...log, ...fresh]
    .map((l, i) => ({ l, i }))
    .sort((a, b) => (a.l.at < b.l.at ? -1 : a.l.at > b.l.at ? 1 : a.i - b.i))
    .map(({ l }) => l)
    .slice(-LOG_LENGTH);
}

export const shortId = (id: string): string => id.slice(0, 8);

// ---- views: what each widget shows -------------------------------------------------


/** An ETA in the dashboard's tables: the common duration, '-' when unknown. */
export const formatEta = (seconds: number | null | undefined): string => formatDuration(seconds, '-');

export interface SeriesView {
  /** Time labels, oldest first ("-4:59" … "0:00"). */
  x: string[];
  /** MB/s (10^6 bytes), oldest first; padded with zeros at the start to SERIES_LENGTH. */
  y: number[];
  /** The chart's top: never 0 (the chart divides by it). */
  maxY: number;
  /** The latest sample in MB/s. */
  now: number;
}

export function throughputView(state: DashboardState, length = SERIES_LENGTH): SeriesView {
  const samples = state.throughput.slice(-length);
  const y = [...new Array<number>(length - samples.length).fill(0), ...samples].map((b) => b / 1e6);
  const x = y.map((_, i) => {
    const ago = length - 1 - i;
    return `-${Math.floor(ago / 60)}:${String(ago % 60).padStart(2, '0')}`;
  });
  const peak = Math.max(0, ...y);
  return { x, y, maxY: peak > 0 ? niceCeil(peak * 1.2) : 1, now: y[y.length - 1] ?? 0 };
}

/** The smallest 1, 2 or 5 × 10^k at or above v. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface GaugeView {
  /** 0–100, whole numbers. */
  percent: number;
  label: string;
  /** The label for a narrow gauge. */
  short: string;
}

/** The store's own usage: its chunks against its chunks plus the free space left for them (panels.ts). */
export function storeGauge(state: DashboardState): GaugeView {
  return storeUsage(state.appliance?.store);
}

export function reductionLines(state: DashboardState): string[] {
  const s = state.appliance?.store;
  if (!s) return ['no data yet'];
  const ratio = s.reduction > 0 ? `${s.reduction >= 10 ? s.reduction.toFixed(0) : s.reduction.toFixed(2)} : 1` : '-';
  return [`reduction  ${ratio}`, `logical    ${formatBytes(s.logicalBytes)}`, `stored     ${formatBytes(s.storedBytes)}`, `images     ${s.images}   chunks ${s.chunks}`];
}

export const JOB_HEADERS = ['TYPE', 'TARGET', 'STATE', 'DONE', 'MB/s', 'ETA', 'JOB'];
/**
 * Column widths of the jobs table for a table `width` characters wide inside its border
 * (blessed-contrib puts columnSpacing − 1 blanks after each column): the target takes
 * what the others leave, between 12 and 60. 'waiting-for-boot' is the longest state.
 */
export function jobColumnWidths(width: number, spacing = 2): number[] {
  const fixed = [7, 16, 4, 6, 6, 8];
  const rest = width - fixed.reduce((a, b) => a + b, 0) - JOB_HEADERS.length * (spacing - 1);
  const target = Math.max(12, Math.min(60, rest));
  return [fixed[0] ?? 7, target, ...fixed.slice(1)];
}

/** `text` in at most `width` characters, keeping its end (where a path says the most). */
export function fitTail(raw: string, width: number): string {
  const text = escapeForTerminal(raw);
  return text.length <= width ? text : `...${text.slice(text.length - (width - 3))}`;
}

export function jobRows(state: DashboardState, targetWidth = 44): string[][] {
  return Object.values(state.jobs).map((j) => {
    const p = j.progress;
    const pct = p ? `${Math.floor((p.bytesDone / Math.max(1, p.bytesTotal)) * 100)}%` : '-';
    const rate = p ? mbps(p.rateBps) : '-';
    return [j.type, fitTail(j.target, targetWidth), j.state, pct, rate, p ? formatEta(p.etaSeconds) : '-', shortId(j.id)];
  });
}

/** "HH:MM:SS text", newest last; the time in the zone the process runs in. */
export function logLines(state: DashboardState): string[] {
  // Messages, labels and targets come from outside: shown escaped, never obeyed by the terminal.
  return state.log.map((l) => escapeForTerminal(`${clock(l.at)} ${l.level === 'info' ? '' : `${l.level.toUpperCase()} `}${l.jobId ? `${jobName(state, l.jobId)}: ` : ''}${l.text}`));
}

function jobName(state: DashboardState, jobId: string): string {
  const what = state.jobs[jobId] ?? state.known[jobId];
  // The target's end (a path's file name, a machine's disk): the log shares the width with the attention panel.
  return `${what?.type ?? 'job'} ${shortId(jobId)}${what && what.target !== '?' ? ` ${fitTail(what.target, 30)}` : ''}`;
}

function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The one-line status at the bottom: connection, host, jobs, and what is missing. */
export function statusLine(state: DashboardState): string {
  const parts: string[] = [];
  if (state.connection === 'live') parts.push('live');
  else if (state.connection === 'connecting') parts.push('connecting...');
  else parts.push(`reconnecting... (${state.connectionError ?? 'daemon gone'})`);
  const a = state.appliance;
  if (a) parts.push(`${a.hostname}  lifeboat ${a.version}  up ${formatEta(a.uptimeSeconds)}`);
  const running = Object.values(state.jobs).filter((j) => j.state === 'running').length;
  const waiting = Object.keys(state.jobs).length - running;
  parts.push(`${running} running, ${waiting} waiting`);
  if (state.applianceError) parts.push(`appliance status: ${state.applianceError}`);
  parts.push('q quits');
  return escapeForTerminal(parts.join('  |  '));
}
