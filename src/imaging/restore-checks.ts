// The checks a restore runs around its writes: before the first write (--verify-first),
// every distinct chunk the image needs is read, decoded and its SHA-256 checked, so a
// damaged store stops the restore with the target unchanged; after the writes (--verify),
// the target is read back and its partition table re-read.
import type { FileHandle } from 'node:fs/promises';
import { integrityError } from '../errors.js';
import type { ChunkTask } from './chunk-worker.js';
import { fileReader } from './disk.js';
import { type Gpt, readGpt } from './layout/gpt.js';
import type { Fixups } from './retarget.js';
import { type ImageIndex, chunkLength, digestAt, isUnused } from './repo/index-file.js';
import { runTasks } from './chunk-pipeline.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * Reads every distinct chunk of the image once (the first place it is used) and checks it;
 * throws naming the bad ones and the disk bytes they cover. `chunkIds`: the chunks the
 * restore will write. Writes nothing.
 */
export async function checkChunksFirst(pool: WorkerPool, index: ImageIndex, chunkIds: number[], workers: number, what: { imageId: string; target: string; signal?: AbortSignal | undefined }): Promise<void> {
  const users = new Map<string, number[]>();
  for (const i of chunkIds) {
    const hex = digestAt(index, i)?.toString('hex');
    if (!hex) continue;
    const list = users.get(hex);
    if (list) list.push(i);
    else users.set(hex, [i]);
  }
  const bad: string[] = [];
  await runTasks<[string, number[]], { i: number; ok: boolean; error?: string }>(
    { runner: pool, limit: workers * 2, signal: what.signal, cancelled: `restore onto ${what.target} was cancelled while its chunks were checked: nothing was written, ${what.target} is unchanged` },
    users.entries(),
    ([digest, list]): ChunkTask => ({ type: 'check', i: list[0] as number, length: chunkLength(index, list[0] as number), digest }),
    (r, [, list]) => {
      if (!r.ok) bad.push(`${r.error ?? `chunk ${r.i} is bad`} (disk bytes ${list.slice(0, 4).map((i) => `${i * index.chunkSize}+${chunkLength(index, i)}`).join(', ')}${list.length > 4 ? ', …' : ''})`);
    },
  );
  if (bad.length > 0) {
    throw integrityError(`image ${what.imageId} cannot be restored: ${bad.length} chunk(s) failed the check before writing: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? '; …' : ''}`);
  }
}

/** Reads the target back and compares every chunk with the index; throws naming the first bad ones. */
export async function readBack(pool: WorkerPool, index: ImageIndex, target: string, workers: number, fresh: boolean, targetSize: number, fixups: Fixups, signal?: AbortSignal): Promise<void> {
  const bad: string[] = [];
  const touched = [...fixups.zero, ...fixups.writes.map((w) => ({ start: w.offset, length: w.data.length }))];
  const comparable = (i: number) => {
    const start = i * index.chunkSize;
    const end = start + chunkLength(index, i);
    // Unused chunks were not written onto an existing target; fixed-up and clipped chunks differ by design.
    return (fresh || !isUnused(index, i)) && end <= targetSize && !touched.some((t) => t.start < end && t.start + t.length > start);
  };
  await runTasks<number, { i: number; ok: boolean; actual: string }>(
    { runner: pool, limit: workers * 2, signal },
    Array.from({ length: index.chunkCount }, (_, i) => i).filter(comparable),
    (i): ChunkTask => ({ type: 'readback', i, length: chunkLength(index, i), offset: i * index.chunkSize, digest: digestAt(index, i)?.toString('hex') ?? null }),
    (r) => {
      if (!r.ok) bad.push(`chunk ${r.i} at byte ${r.i * index.chunkSize}`);
    },
  );
  if (bad.length > 0) throw integrityError(`read-back of ${target} differs from the image in ${bad.length} chunk(s): ${bad.slice(0, 5).join(', ')}: the disk may be failing`);
}

/** After a GPT was adapted: the target's primary and backup GPT must both read clean. */
export async function checkTargetGpt(fh: FileHandle, targetSize: number, source: Gpt, target: string): Promise<void> {
  const gpt = await readGpt(fileReader(fh, targetSize, target), source.sectorSize).catch((err: Error) => {
    throw integrityError(`the partition table written to ${target} does not read back: ${err.message}`);
  });
  if (gpt.warnings.length > 0 || gpt.partitions.length !== source.partitions.length) {
    throw integrityError(`the partition table written to ${target} reads back with problems: ${gpt.warnings.join('; ') || 'partitions differ'}`);
  }
}

