// What the daemon-client commands share: the client from --socket / LIFEBOAT_SOCKET,
// JSON or table output, and following a job to its end with the same progress
// renderers as local imaging (exit 0 only when the job is done).
import { resolve } from 'node:path';
import { ApiClient } from '../api/client.js';
import type { Job, JobView } from '../api/contract.js';
import { LifeboatError, usageError } from '../errors.js';
import { escapeForTerminal } from '../text.js';
import { jobSummary } from './job-text.js';
import { createRenderer, renderMode } from './render.js';

export function client(socket: string | undefined): ApiClient {
  return new ApiClient(socket ?? process.env.LIFEBOAT_SOCKET ?? undefined);
}

/** Columns padded to their widest cell; every cell is escaped for the terminal first (labels, names and errors come from outside). */
export function table(cells: string[][], head: string[]): string {
  const rows = cells.map((r) => r.map((v) => escapeForTerminal(v)));
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  return [head, ...rows].map((r) => r.map((v, c) => v.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** --since: an ISO date or time, or a span back from now ("24h", "7d", "30m"); the ISO time it means. */
export function parseSince(text: string, now = Date.now()): string {
  const span = /^(\d+)\s*(m|h|d|w)$/.exec(text.trim());
  if (span) return new Date(now - Number(span[1]) * { m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[span[2] as 'm' | 'h' | 'd' | 'w']).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? Date.parse(text.trim().replace(' ', 'T')) : NaN;
  if (Number.isNaN(t)) throw usageError(`--since takes a date or time (2026-12-01, 2026-12-01T08:00Z) or a span back from now (30m, 24h, 7d, 2w), not ${JSON.stringify(text)}`);
  return new Date(t).toISOString();
}

/** An option taking a whole number, at least 1. */
export const positiveCount = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw usageError(`${flag} takes a whole number, at least 1 (got ${JSON.stringify(v)})`);
  return n;
};

/** A job's end in words, as `jobs show` and `jobs cancel` say it (empty while it runs). */
export function jobEnding(j: Job): string {
  return [
    ...(j.targetIncomplete ? [`TARGET INCOMPLETE: ${j.devicePath ?? 'the target disk'} holds part of image ${j.imageId ?? '?'} and part of what was there: do not use it; restore it again`] : []),
    ...(j.outcome ? [`outcome: ${j.outcome}`] : []),
    ...(j.error ? [`error: ${j.error}`] : []),
  ].join('\n');
}

const FINAL = new Set(['done', 'failed', 'cancelled', 'interrupted']);

/** Follows a job until it ends; returns its final view. Throws when it did not end done. */
export async function watchJob(api: ApiClient, jobId: string, json: boolean): Promise<JobView> {
  const renderer = createRenderer(renderMode(json));
  const abort = new AbortController();
  let final: JobView | null = null;
  const check = async () => {
    const j = await api.job(jobId);
    if (FINAL.has(j.state)) {
      final = j;
      abort.abort();
    }
  };
  const stream = api.events((e) => {
    if (e.type === 'job-progress' && e.jobId === jobId) renderer.event(e.progress);
    else if (e.type === 'log' && e.jobId === jobId && e.level !== 'info') renderer.event({ type: 'warning', operation: 'backup', imageId: '', message: escapeForTerminal(e.message) });
    else if (e.type === 'job-state' && e.jobId === jobId && FINAL.has(e.state)) void check();
  }, abort.signal);
  await check(); // it may have ended before we subscribed
  await stream.catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  renderer.close();
  const j = final as JobView | null;
  if (!j) throw new LifeboatError('external', `lost track of job ${jobId}`);
  if (json) process.stdout.write(`${JSON.stringify(j)}\n`);
  if (j.state !== 'done') {
    process.stderr.write(`lifeboat: job ${j.id} ${j.state}${j.error ? `: ${escapeForTerminal(j.error)}` : j.outcome ? `: ${escapeForTerminal(j.outcome)}` : ''}\n`);
    if (j.targetIncomplete) process.stderr.write(`lifeboat: ${escapeForTerminal(j.devicePath ?? 'the target')} is INCOMPLETE: do not use it; restore it again\n`);
    throw Object.assign(new LifeboatError('user', `job ${j.id} ${j.state}`), { reported: true });
  }
  if (!json) process.stdout.write(`${jobSummary(j)}\n`);
  return j;
}

/** Follows jobs until each has ended; says each state change on stdout. */
export async function followJobs(api: ApiClient, jobs: Job[], say: (line: string) => void): Promise<Map<string, Job>> {
  const final = new Map<string, Job>();
  const abort = new AbortController();
  const ids = new Set(jobs.map((j) => j.id));
  const check = async (id: string) => {
    const j = await api.job(id);
    if (FINAL.has(j.state) && !final.has(id)) {
      final.set(id, j);
      say(`job ${j.id} ${j.state}${j.imageId ? `: image ${j.imageId}` : ''}${j.error ? `: ${escapeForTerminal(j.error)}` : j.outcome ? `: ${escapeForTerminal(j.outcome)}` : ''}`);
    }
    if (final.size === ids.size) abort.abort();
  };
  if (ids.size === 0) return final;
  const stream = api.events((e) => {
    if (e.type === 'job-state' && ids.has(e.jobId)) {
      if (FINAL.has(e.state)) void check(e.jobId);
      else say(`job ${e.jobId} ${e.state}`);
    }
  }, abort.signal);
  for (const id of ids) await check(id); // some may have ended before we subscribed
  await stream.catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  return final;
}


/** The passphrase-file options of `schedule add|edit` and `machines edit`. */
export const PASSPHRASE_FILE_HELP = 'protect its backups with the passphrase on the first line of this file on the appliance (root-owned, chmod 600); only the path is stored, the daemon reads the file at each backup';
export const NO_PASSPHRASE_HELP = 'its backups are no longer protected by a passphrase file';

/** --passphrase-file <path> (made absolute here: the daemon stores the path) or --no-passphrase (clears it), as an API field. */
export function passphraseSetting(o: { passphraseFile?: string; passphrase?: boolean }, clearable: boolean): { passphraseFile?: string | null } {
  if (o.passphraseFile !== undefined && o.passphrase === false) throw usageError('--passphrase-file sets a passphrase file and --no-passphrase clears it: give one of them');
  if (o.passphraseFile !== undefined) return { passphraseFile: resolve(o.passphraseFile) };
  return o.passphrase === false && clearable ? { passphraseFile: null } : {};
}

/** The passphrase line of `schedule show` and `machines show`: the file's path, never its content. */
export function passphraseText(file: string | undefined): string {
  return file === undefined ? 'none (its backups can be restored without a passphrase)' : `from file ${escapeForTerminal(file)} (read at each backup)`;
}
