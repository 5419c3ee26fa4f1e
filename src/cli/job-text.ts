// A daemon job in words, for `jobs list`, `jobs show` and the end of `backup|restore --wait`:
// times, who asked, the machine by name, the figures, the whole story. Pure: a job in,
// text out (the same summary lines as the local `image backup|restore` commands).
import { destinationText } from '../api/destination.js';
import type { Job, JobView } from '../api/contract.js';
import { shown } from '../text.js';
import { formatBytes, formatLocalTime, formatRate } from '../format.js';
import { formatDuration } from './render.js';

/** A time as every Lifeboat screen shows it: local time, to the second, with its zone (`2026-12-03 15:04:05 UTC`). */
export function when(iso: string | undefined): string {
  return iso ? formatLocalTime(iso, { seconds: true }) : '';
}

/** The clock part of when() (time and zone), for columns whose date the row already says. */
export function clockOf(iso: string | undefined): string {
  return when(iso).slice(11);
}

/** Seconds from start to end (or to `now` while it runs); null before it started. */
export function durationOf(j: Job, now = Date.now()): number | null {
  if (!j.startedAt) return null;
  const end = j.finishedAt ? Date.parse(j.finishedAt) : now;
  return Math.max(0, (end - Date.parse(j.startedAt)) / 1000);
}

/** What the job runs on: the machine by name (its id only when it is gone) or the docked device. */
export function subjectOf(j: Job): string {
  if (j.machineId) return j.machineName ?? `machine id ${j.machineId}`;
  if (j.devicePath) return j.devicePath;
  return j.imageId ? `image ${j.imageId}` : '';
}

export function diskOf(j: Job): string {
  return j.machineId ? (j.diskSerial ?? j.devicePath ?? 'every disk') : '';
}

export const JOB_LIST_HEAD = ['ID', 'TYPE', 'STATE', 'MACHINE/DEVICE', 'DISK', 'CREATED', 'STARTED', 'ENDED', 'DURATION', 'BY', 'PROGRESS/RESULT'];

export function jobListRow(j: JobView, now = Date.now()): string[] {
  const d = durationOf(j, now);
  const live = j.live ? `${Math.round((j.live.bytesDone / Math.max(1, j.live.bytesTotal)) * 100)}% ${formatRate(j.live.rateBps)}` : '';
  const reached = !j.live && j.progress && j.state !== 'done' && j.progress.bytesTotal > 0 ? `${Math.round((j.progress.bytesDone / j.progress.bytesTotal) * 100)}% reached` : '';
  const result = j.error ?? j.outcome ?? (j.stats?.bytesNew !== undefined ? `new ${formatBytes(j.stats.bytesNew)}` : j.imageId && j.type === 'backup' ? `image ${j.imageId}` : '');
  return [j.id, j.type, j.state, subjectOf(j), diskOf(j), when(j.createdAt), clockOf(j.startedAt), clockOf(j.finishedAt), d === null ? '' : formatDuration(d), j.requestedBy, [live || reached, result].filter(Boolean).join(' ')];
}

/** The summary a finished job ends with: the same words as the local commands print. */
export function jobSummary(j: Job): string {
  const s = j.stats ?? {};
  const secs = (s.durationMs ?? 0) / 1000;
  const speed = (bytes: number) => (secs > 0 ? `, ${formatRate(bytes / secs)}` : '');
  if (j.type === 'backup' && j.imageId && s.bytesNew !== undefined) {
    return (
      `image ${j.imageId} committed: ${formatBytes(s.bytesRead ?? 0)} read, ${formatBytes(s.bytesNew)} new -> ${formatBytes(s.storedBytesNew ?? 0)} stored (lz4 ${(s.compressionRatio ?? 1).toFixed(2)}x), ` +
      `${formatBytes(s.bytesReused ?? 0)} reused, ${formatBytes(s.bytesZero ?? 0)} zero, in ${formatDuration(secs)}${speed(s.bytesRead ?? 0)}`
    );
  }
  if (j.type === 'restore' && s.bytesTotal !== undefined) return `restored image ${j.imageId ?? '?'} onto ${j.devicePath ?? subjectOf(j)}: ${formatBytes(s.bytesTotal)} in ${formatDuration(secs)}${speed(s.bytesTotal)}`;
  if (j.type === 'verify' && s.chunksChecked !== undefined) return `image ${j.imageId ?? '?'}: ${s.chunksChecked} chunk(s) checked, ${s.problems ?? 0} problem(s), in ${formatDuration(secs)}`;
  return `job ${j.id} ${j.state}`;
}

/** `jobs show`: parameters, every state change with its time, the log, the figures, the end. */
export function jobStory(j: JobView, now = Date.now()): string {
  const out: string[] = [];
  const field = (name: string, value: string | undefined) => {
    if (value) out.push(`${`${name}:`.padEnd(14)}${value}`);
  };
  field('job', `${j.id} (${j.type})`);
  field('state', j.state);
  field(j.machineId ? 'machine' : j.devicePath ? 'device' : 'image', subjectOf(j));
  field('disk', diskOf(j));
  const a = j.agentDisk;
  field('agent disk', a ? `/dev/${shown(a.name)}${a.serial ? ` serial ${shown(a.serial)}` : ''}${a.model ? ` (${shown(a.model)})` : ''}, ${formatBytes(a.sizeBytes)}` : undefined);
  const o = j.options;
  field('options', o ? [o.verify ? 'verify' : '', o.verifyFirst === false ? 'no verify first' : '', o.growLast ? 'grow last partition' : '', o.end ? `then ${o.end}` : ''].filter(Boolean).join(', ') : undefined);
  if (o?.destination) field('to', destinationText(o.destination));
  if (j.type !== 'verify' || !j.imageId) field('image', j.imageId);
  field('schedule', j.scheduleId ? `id ${j.scheduleId}` : undefined);
  field('requested by', j.requestedBy);
  field('created', when(j.createdAt));
  field('started', when(j.startedAt));
  field('ended', when(j.finishedAt));
  const d = durationOf(j, now);
  field('duration', d === null ? undefined : formatDuration(d));
  if (j.history?.length) {
    out.push('', 'state changes:');
    for (const h of j.history) out.push(`  ${when(h.at)}  ${h.state}`);
  }
  const p = j.live ?? j.progress;
  if (p && p.bytesTotal > 0 && j.state !== 'done') out.push('', `progress${j.live ? '' : ' reached'}: ${Math.round((p.bytesDone / p.bytesTotal) * 100)}% (${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)})`);
  if (j.stats && Object.keys(j.stats).length > 0) out.push('', `result: ${jobSummary(j)}`);
  out.push('', `log${j.logDropped ? ` (the oldest ${j.logDropped} line(s) dropped)` : ''}:`);
  if (j.log?.length) for (const l of j.log) out.push(`  ${clockOf(l.at)} ${l.level === 'info' ? '' : `${l.level}: `}${l.message}`);
  else out.push('  (no log lines)');
  if (j.targetIncomplete) out.push('', `TARGET INCOMPLETE: ${j.devicePath ?? 'the target disk'} holds part of image ${j.imageId ?? '?'} and part of what was there: do not use it; restore it again`);
  if (j.outcome) out.push('', `outcome: ${j.outcome}`);
  if (j.error) out.push('', `error: ${j.error}`);
  return out.join('\n');
}
