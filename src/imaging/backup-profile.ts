// Where a backup's time went: the engine's stages (target begin, worker threads booting, the
// disk planned, the chunk pipeline) and, inside the pipeline, the time the worker threads
// spent on each kind of work, summed over the threads (so it can exceed the wall time when
// threads run on several cores, and shows what one core was busy with when they share one).
// Said on the agent's console at the end of a job, for operators and benchmarks. Pure.

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
}

export const noWork = (): WorkTimes => ({ read: 0, print: 0, hash: 0, pack: 0, store: 0 });

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
    ['plan', p.plan],
    ['chunks', p.pipeline],
    ...extra,
  ];
  const work = ([['read', w.read], ['fingerprint', w.print], ['sha-256', w.hash], ['lz4', w.pack], ['store', w.store]] as const).map(([k, v]) => `${k} ${s(v)}`);
  return `${stages.map(([k, v]) => `${k} ${s(v)}`).join(', ')} (workers and plan overlap; in the ${p.threads} worker thread(s): ${work.join(', ')})`;
}
