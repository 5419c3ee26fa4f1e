// Where a backup's time went: the engine's stages (target begin, worker threads booting, the
// disk planned, the chunk pipeline) and, inside the pipeline, the CPU time the worker threads
// spent on each kind of work, summed over the threads, and how long they waited (for the disk
// or the store). CPU time is the thread's own (process.threadCpuUsage, Node ≥ 23.9: the boot
// OS's Node 24); where Node has none, the wall time of each step stands in for it. Said on the
// agent's console at the end of a job, for operators and benchmarks. Pure but for the clocks.

/** This thread's CPU time in ms, or null where Node cannot tell it. */
export function threadCpuMs(): number | null {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage?.();
  return usage ? (usage.user + usage.system) / 1000 : null;
}

/** A clock for the steps of one task: thread CPU time where Node has it, else wall time. */
export const workClock = (): (() => number) => (threadCpuMs() !== null ? () => threadCpuMs() as number : () => performance.now());

/** Milliseconds the worker threads spent per kind of work on one chunk (or summed over many). */
export interface WorkTimes {
  /** Reading the chunk's used blocks from the disk. */
  read: number;
  /** The keyed fingerprint (repo/fingerprint.ts). */
  print: number;
  /** SHA-256 (changed chunks, spot checks). */
  hash: number;
  /** LZ4 compression. */
  pack: number;
  /** Asking the store whether it has the chunk and staging its frame (over the wire: has/PUT). */
  store: number;
  /** Wall time of the tasks (the rest of it, beyond the CPU time, was waiting). */
  wall: number;
}

export const noWork = (): WorkTimes => ({ read: 0, print: 0, hash: 0, pack: 0, store: 0, wall: 0 });

export function addWork(into: WorkTimes, w: Partial<WorkTimes> | undefined): void {
  if (!w) return;
  for (const k of Object.keys(into) as Array<keyof WorkTimes>) {
    const v = w[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) into[k] += v;
  }
}

/** The engine's stages of one backup, in milliseconds. */
export interface BackupProfile {
  /** The target's begin: its session, the parent's index and fingerprints (over the wire for the agent). */
  begin: number;
  /** From begin's end until the worker threads were booted and set up (overlaps `plan`). */
  workers: number;
  /** Reading the partition table and the filesystems' allocation maps (overlaps `workers`). */
  plan: number;
  /** The main thread's CPU time in `plan`, or null (Node < 23.9). */
  planCpu: number | null;
  /** Whether the work times are CPU time (else wall time). */
  cpu: boolean;
  /** The chunk pipeline: every chunk read, fingerprinted or hashed, compressed and staged. */
  pipeline: number;
  /** Worker thread time inside the pipeline, summed over the threads. */
  work: WorkTimes;
  /** Worker threads. */
  threads: number;
}

const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** One line: the stages, then what the worker threads did in the pipeline. `extra` are later stages (e.g. the commit's). */
export function formatProfile(p: BackupProfile, extra: ReadonlyArray<readonly [string, number]> = []): string {
  const w = p.work;
  const stages: Array<readonly [string, number]> = [
    ['begin', p.begin],
    ['workers', p.workers],
    [p.planCpu !== null ? `plan (CPU ${s(p.planCpu)})` : 'plan', p.plan],
    ['chunks', p.pipeline],
    ...extra,
  ];
  const parts = [['read', w.read], ['fingerprint', w.print], ['sha-256', w.hash], ['lz4', w.pack], ['store', w.store]] as const;
  const work = parts.map(([k, v]) => `${k} ${s(v)}`);
  if (p.cpu) work.push(`waiting ${s(Math.max(0, w.wall - parts.reduce((sum, [, v]) => sum + v, 0)))}`);
  return `${stages.map(([k, v]) => `${k} ${s(v)}`).join(', ')} (workers and plan overlap; ${p.cpu ? 'CPU time' : 'time'} of the ${p.threads} worker thread(s): ${work.join(', ')})`;
}
