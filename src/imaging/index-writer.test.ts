import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { type ChunkRecord, IndexWriter } from './index-writer.js';
import { INDEX_HEADER_SIZE, NO_FINGERPRINT, UNUSED_DIGEST, ZERO_DIGEST } from './repo/formats.js';
import type { PositionalFile } from './repo/image-draft.js';
import { decodeIndex, digestAt } from './repo/index-file.js';

/** A file in memory that records its writes (position, length) in the order they were made. */
function memoryFile(failAt?: number) {
  let bytes = Buffer.alloc(0);
  const writes: Array<{ position: number; length: number }> = [];
  let finished = false;
  const file: PositionalFile = {
    async write(data, position) {
      await new Promise((r) => setImmediate(r)); // writes complete later, and may overlap
      if (failAt !== undefined && writes.length === failAt) throw new Error('ENOSPC: no space left on device');
      if (bytes.length < position + data.length) bytes = Buffer.concat([bytes, Buffer.alloc(position + data.length - bytes.length)]);
      data.copy(bytes, position);
      writes.push({ position, length: data.length });
    },
    async finish() {
      finished = true;
    },
    async close() {},
  };
  return { file, writes, get bytes() { return bytes; }, get finished() { return finished; } };
}

function records(n: number, chunkSize: number): ChunkRecord[] {
  return Array.from({ length: n }, (_, i) => {
    if (i % 5 === 3) return { entry: UNUSED_DIGEST, fingerprint: NO_FINGERPRINT, contentDigest: createHash('sha256').update(Buffer.alloc(chunkSize)).digest() };
    if (i % 7 === 6) return { entry: ZERO_DIGEST, fingerprint: NO_FINGERPRINT, contentDigest: createHash('sha256').update(Buffer.alloc(chunkSize)).digest() };
    const digest = randomBytes(32);
    return { entry: digest, fingerprint: randomBytes(16), contentDigest: digest };
  });
}

function shuffled<T>(list: T[]): Array<[number, T]> {
  const out = list.map((r, i) => [i, r] as [number, T]);
  for (let k = out.length - 1; k > 0; k--) {
    const j = Math.floor(Math.random() * (k + 1));
    [out[k], out[j]] = [out[j] as [number, T], out[k] as [number, T]];
  }
  return out;
}

test('records in any order give the same index, fingerprints and content digest as in disk order, whatever the batch size', async () => {
  const chunkSize = 65536;
  const recs = records(53, chunkSize);
  const diskSize = 52 * chunkSize + 1000;
  const expectedContent = createHash('sha256').update(Buffer.concat(recs.map((r) => r.contentDigest))).digest('hex');
  let reference: Buffer | null = null;
  for (const batch of [1, 3, 16, 4096]) {
    for (const order of [recs.map((r, i) => [i, r] as [number, ChunkRecord]), shuffled(recs), shuffled(recs).reverse()]) {
      const mem = memoryFile();
      const writer = new IndexWriter(mem.file, batch);
      await Promise.all(order.map(([i, r]) => writer.put(i, r)));
      const summary = await writer.finish({ chunkSize, diskSize });
      assert.equal(summary.chunkCount, 53);
      assert.equal(summary.contentSha256, expectedContent);
      assert.ok(summary.fingerprints.equals(Buffer.concat(recs.map((r) => r.fingerprint))));
      const index = decodeIndex(mem.bytes);
      assert.equal(index.chunkCount, 53);
      assert.equal(index.diskSize, diskSize);
      recs.forEach((r, i) => assert.deepEqual(digestAt(index, i), r.entry.equals(ZERO_DIGEST) || r.entry.equals(UNUSED_DIGEST) ? null : r.entry));
      reference ??= mem.bytes;
      assert.ok(mem.bytes.equals(reference), `batch ${batch}: the same bytes`);
      assert.deepEqual(mem.writes.at(-1), { position: 0, length: INDEX_HEADER_SIZE }, 'the header is written last');
      if (batch === 16) assert.ok(mem.writes.length <= Math.ceil(53 / 16) + 1, 'entries in batches of at least 16 (a record may release more)');
      assert.ok(mem.finished, 'fsynced');
    }
  }
});

test('a record given twice, a missing record and a failed write are errors, never a wrong index', async () => {
  const recs = records(4, 65536);
  const w1 = new IndexWriter(memoryFile().file);
  await w1.put(0, recs[0] as ChunkRecord);
  await assert.rejects(w1.put(0, recs[0] as ChunkRecord), (e: unknown) => e instanceof LifeboatError && e.kind === 'bug');
  await w1.put(2, recs[2] as ChunkRecord);
  await assert.rejects(w1.finish({ chunkSize: 65536, diskSize: 3 * 65536 }), /waiting for chunk 1/);

  const failing = memoryFile(1);
  const w2 = new IndexWriter(failing.file, 1);
  await w2.put(0, recs[0] as ChunkRecord);
  await assert.rejects(w2.put(1, recs[1] as ChunkRecord), /ENOSPC/);
  await assert.rejects(w2.finish({ chunkSize: 65536, diskSize: 2 * 65536 }), /ENOSPC/);
  assert.ok(!failing.finished, 'not fsynced as if complete');
});
