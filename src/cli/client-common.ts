// What the daemon-client commands share: the client from --socket / LIFEBOAT_SOCKET,
// JSON or table output, and following a job to its end with the same progress
// renderers as local imaging (exit 0 only when the job is done).
import { ApiClient } from '../api/client.js';
import type { Job, JobView } from '../api/contract.js';
import { LifeboatError } from '../errors.js';
import { escapeForTerminal } from '../text.js';
import { formatBytes } from '../imaging/disk.js';
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

export function jobLine(j: JobView): string[] {
  const live = j.live ? `${Math.round((j.live.bytesDone / Math.max(1, j.live.bytesTotal)) * 100)}% ${(j.live.rateBps / 1e6).toFixed(0)} MB/s` : '';
  return [j.id, j.type, j.state, j.devicePath ?? j.machineId ?? '', j.imageId ?? '', live || (j.stats?.bytesNew !== undefined ? `new ${formatBytes(j.stats.bytesNew)}` : ''), j.error ?? ''];
}
export const JOB_HEAD = ['ID', 'TYPE', 'STATE', 'TARGET', 'IMAGE', 'PROGRESS', 'ERROR'];

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
    else if (e.type === 'log' && e.jobId === jobId) renderer.event({ type: 'warning', operation: 'backup', imageId: '', message: escapeForTerminal(e.message) });
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
    process.stderr.write(`lifeboat: job ${j.id} ${j.state}${j.error ? `: ${escapeForTerminal(j.error)}` : ''}\n`);
    throw Object.assign(new LifeboatError('user', `job ${j.id} ${j.state}`), { reported: true });
  }
  if (!json) process.stdout.write(`job ${j.id} done${j.imageId ? `: image ${j.imageId}` : ''}\n`);
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
      say(`job ${j.id} ${j.state}${j.imageId ? `: image ${j.imageId}` : ''}${j.error ? `: ${escapeForTerminal(j.error)}` : ''}`);
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

