// The dashboard's hour chart and its attention panel, as pure views over what the daemon
// told us: the last hour of throughput (GET /v1/appliance/throughput, 10 s samples kept by
// the daemon, so a dashboard started now still shows the hour), the failed jobs and the
// overdue machines (GET /v1/jobs, GET /v1/machines). No blessed, no sockets here.
import type { JobView, Machine, ThroughputHistory } from '../api/contract.js';
import { formatBytes, formatLocalTime } from '../format.js';
import { escapeForTerminal } from '../text.js';

export const HOUR_SLOTS = 360;
export const SLOT_MS = 10_000;
/** Failed jobs stay on the panel this long after they ended. */
export const FAILED_FOR_MS = 24 * 3_600_000;

export interface FailedJob {
  id: string;
  type: string;
  target: string;
  state: string;
  at: string;
  error: string;
}

export interface OverdueMachine {
  name: string;
  schedule: string;
  dueAt: string;
  lastGood: string | null;
}

export interface HourView {
  /** "-60m" … "-1m", "-50s" … "now": each label says its unit. */
  x: string[];
  /** MB/s (10^6 bytes), oldest first, HOUR_SLOTS of them. */
  y: number[];
  maxY: number;
  /** The busiest 10 s of the hour, MB/s. */
  peak: number;
}

/** "-59m", "-30s", "now": how long before now a slot `ago` ms old is. */
export function agoLabel(agoMs: number): string {
  const s = Math.round(agoMs / 1000);
  if (s <= 0) return 'now';
  return s < 60 ? `-${s}s` : `-${Math.round(s / 60)}m`;
}

/** The smallest 1, 2 or 5 × 10^k at or above v (1 for nothing). */
function niceTop(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * The hour before `now` in HOUR_SLOTS slots of SLOT_MS: each slot the highest sample
 * that fell in it (0 where the daemon kept none: it was idle or not running); the last
 * slot also holds the live rate `liveBps` when one is given (the higher of the two).
 */
export function hourView(history: ThroughputHistory['samples'], now: number, liveBps?: number): HourView {
  const y = new Array<number>(HOUR_SLOTS).fill(0);
  for (const s of history) {
    const age = now - Date.parse(s.at);
    if (!(age >= 0) || age >= HOUR_SLOTS * SLOT_MS || !Number.isFinite(s.bytesPerSecond)) continue;
    const slot = HOUR_SLOTS - 1 - Math.floor(age / SLOT_MS);
    y[slot] = Math.max(y[slot] ?? 0, Math.max(0, s.bytesPerSecond) / 1e6);
  }
  if (liveBps !== undefined && Number.isFinite(liveBps)) y[HOUR_SLOTS - 1] = Math.max(y[HOUR_SLOTS - 1] ?? 0, liveBps / 1e6);
  const x = y.map((_, i) => agoLabel((HOUR_SLOTS - 1 - i) * SLOT_MS));
  const peak = Math.max(0, ...y);
  return { x, y, maxY: peak > 0 ? niceTop(peak * 1.2) : 1, peak };
}

/** The jobs that failed or were interrupted in the day before `now`, newest first. */
export function failedJobs(jobs: readonly JobView[], target: (j: JobView) => string, now: number): FailedJob[] {
  return jobs
    .filter((j) => (j.state === 'failed' || j.state === 'interrupted') && now - Date.parse(j.finishedAt ?? j.updatedAt) <= FAILED_FOR_MS)
    .map((j) => ({ id: j.id, type: j.type, target: target(j), state: j.state, at: j.finishedAt ?? j.updatedAt, error: j.error ?? j.outcome ?? '' }))
    .sort((a, b) => b.at.localeCompare(a.at));
}

/** The machines whose last good backup is older than their schedule promises, most overdue first. */
export function overdueMachines(machines: readonly Machine[]): OverdueMachine[] {
  return machines
    .filter((m) => m.backupPromise?.overdue)
    .map((m) => ({ name: m.name, schedule: m.backupPromise?.schedule ?? '', dueAt: m.backupPromise?.dueAt ?? '', lastGood: m.backupPromise?.lastGood ?? null }))
    .sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.name.localeCompare(b.name));
}

/** The panel's title: how many of each, so a glance from across the room is enough. */
export function attentionTitle(failed: readonly FailedJob[], overdue: readonly OverdueMachine[]): string {
  if (!failed.length && !overdue.length) return ' Attention: none ';
  return ` Attention: ${failed.length} failed, ${overdue.length} overdue `;
}

const short = (iso: string) => formatLocalTime(iso).slice(11);

/** One line per failed job, then per overdue machine; escaped (errors and names come from outside). */
export function attentionLines(failed: readonly FailedJob[], overdue: readonly OverdueMachine[]): string[] {
  const lines = [
    ...failed.map((f) => `FAILED ${short(f.at)} ${f.type} ${f.target}${f.state === 'interrupted' ? ' (interrupted)' : ''}: ${f.error || 'no reason given'}`),
    ...overdue.map((o) => `OVERDUE ${o.name}: last good ${o.lastGood ? formatLocalTime(o.lastGood).slice(5) : 'never'}, ${o.schedule} due ${short(o.dueAt)}`),
  ];
  return lines.length ? lines.map((l) => escapeForTerminal(l)) : ['no failed jobs, no overdue machines'];
}

/**
 * The store gauge: what the store holds against what it could hold (its chunks plus the
 * free space of its filesystem), not how full the host filesystem is.
 */
export function storeUsage(store: { storedBytes: number; fsFreeBytes: number } | undefined): { percent: number; label: string; short: string } {
  if (!store) return { percent: 0, label: 'no data', short: 'no data' };
  const used = Math.max(0, store.storedBytes);
  const room = used + Math.max(0, store.fsFreeBytes);
  const percent = room > 0 ? Math.min(100, Math.round((used / room) * 100)) : 0;
  return { percent, label: `${formatBytes(used)} stored, ${formatBytes(Math.max(0, store.fsFreeBytes))} free`, short: `${formatBytes(used)} stored` };
}

/**
 * blessed-contrib's line chart places point k of n at ((width − pad) / n)·k + pad + 2 px,
 * so the last points fall past its canvas and are not drawn: the last minute of the hour
 * would never show. This appends copies of the last point (with blank labels: a space, as an empty one prints "null") until the
 * real last point lands inside a canvas `canvasWidth` px wide, its y labels taking up to
 * `labelPx` px on the left.
 */
export function padForChart(view: { x: string[]; y: number[] }, canvasWidth: number, labelPx = 12): { x: string[]; y: number[] } {
  const n = view.y.length;
  const usable = canvasWidth - labelPx;
  if (n === 0 || usable <= 6) return view;
  // Need ((usable) / total) · (n − 1) + labelPx + 2 ≤ canvasWidth − 2.
  const total = Math.ceil(((n - 1) * usable) / (usable - 4));
  const extra = Math.max(0, total - n);
  const last = view.y[n - 1] ?? 0;
  return { x: [...view.x, ...new Array<string>(extra).fill(' ')], y: [...view.y, ...new Array<number>(extra).fill(last)] };
}

/** What to hand blessed-contrib's gauge for a whole `percent`: it reads anything below 1.001 as a fraction (1 would show 100%). */
export function gaugeInput(percent: number): number {
  return percent <= 1 ? percent / 100 : percent;
}
