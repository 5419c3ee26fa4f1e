import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FinishBody } from '../api/agent-wire.js';
import { LifeboatError } from '../errors.js';
import { IndexWriter } from '../imaging/index-writer.js';
import { encodeFrame } from '../imaging/lz4-frame.js';
import type { PositionalFile } from '../imaging/repo/image-draft.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { NO_FINGERPRINT, UNUSED_DIGEST, ZERO_DIGEST } from '../imaging/repo/formats.js';
import { encodeIndex } from '../imaging/repo/index-file.js';
import { AgentRefusal } from './agent-http.js';
import { BackupUpload, checkIndex, chunkDigests, contentDigestOf, imageStats, uploadLimits } from './agent-backup.js';

const CHUNK = 64 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest();

function memoryFile() {
  let bytes = Buffer.alloc(0);
  const file: PositionalFile = {
    async write(data, position) {
      if (bytes.length < position + data.length) bytes = Buffer.concat([bytes, Buffer.alloc(position + data.length - bytes.length)]);
      data.copy(bytes, position);
    },
    async finish() {},
    async close() {},
  };
  return { file, get bytes() { return bytes; } };
}

/** An index as the engine writes it (IndexWriter), for a disk whose last chunk is short, with zero and unused chunks. */
async function engineIndex(diskSize: number) {
  const count = Math.ceil(diskSize / CHUNK);
  const out = memoryFile();
  const w = new IndexWriter(out.file);
  for (let i = 0; i < count; i++) {
    const length = Math.min(CHUNK, diskSize - i * CHUNK);
    const zeros = sha(Buffer.alloc(length));
    const record = i % 4 === 1 ? { entry: ZERO_DIGEST, fingerprint: NO_FINGERPRINT, contentDigest: zeros } : i % 4 === 2 ? { entry: UNUSED_DIGEST, fingerprint: NO_FINGERPRINT, contentDigest: zeros } : (() => {
      const d = randomBytes(32);
      return { entry: d, fingerprint: NO_FINGERPRINT, contentDigest: d };
    })();
    await w.put(i, record);
  }
  const summary = await w.finish({ chunkSize: CHUNK, diskSize });
  return { bytes: out.bytes, contentSha256: summary.contentSha256 };
}

const finish = (diskSize: number, contentSha256: string): FinishBody => ({
  source: { kind: 'block', size: diskSize, logicalSectorSize: 512, physicalSectorSize: 512, model: null, serial: null, name: 'vda' },
  imageBytes: diskSize,
  contentSha256,
  stats: {},
  layout: null,
  startedAt: new Date().toISOString(),
});

test('the content digest recomputed from an index equals the engine\'s (zero and unused chunks by their zeros, a short last chunk)', async () => {
  const diskSize = 7 * CHUNK + 4096;
  const { bytes, contentSha256 } = await engineIndex(diskSize);
  assert.equal(checkIndex(bytes, { chunkSize: CHUNK, diskSize, finish: finish(diskSize, contentSha256) }).chunkCount, 8);
});

test('checkIndex refuses an index of another chunk size, another disk, or another content', async () => {
  const diskSize = 4 * CHUNK;
  const { bytes, contentSha256 } = await engineIndex(diskSize);
  const refused = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e) => e instanceof LifeboatError && e.kind === 'integrity' && pattern.test(e.message));
  refused(() => checkIndex(bytes, { chunkSize: CHUNK * 2, diskSize, finish: finish(diskSize, contentSha256) }), /chunks of 65536 bytes; this job's are 131072/);
  refused(() => checkIndex(bytes, { chunkSize: CHUNK, diskSize: diskSize + CHUNK, finish: finish(diskSize, contentSha256) }), /for a disk of 262144 bytes; the disk reported at the job's start has 327680/);
  refused(() => checkIndex(bytes, { chunkSize: CHUNK, diskSize, finish: finish(diskSize + 1, contentSha256) }), /the finish reports a disk of 262145 bytes/);
  refused(() => checkIndex(bytes, { chunkSize: CHUNK, diskSize, finish: finish(diskSize, '0'.repeat(64)) }), /content digest .* the agent reported 0{64}/);
});

test('chunkDigests: each real chunk once, markers left out', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const index = { chunkSize: CHUNK, diskSize: 5 * CHUNK, chunkCount: 5, digests: Buffer.concat([a, ZERO_DIGEST, b, a, UNUSED_DIGEST]) };
  assert.deepEqual(chunkDigests(index).sort(), [a.toString('hex'), b.toString('hex')].sort());
  assert.equal(contentDigestOf(index).length, 64);
});

test('upload limits follow the disk: chunks, index and fingerprints bytes, frame size', () => {
  assert.deepEqual(uploadLimits(10 * CHUNK + 1, CHUNK), { chunks: 11, index: 64 + 11 * 32, fingerprints: 32 + 11 * 16, frame: CHUNK + 64 * 1024 });
});

test('image stats: the agent\'s counts, the appliance\'s own for what was new', () => {
  const s = imageStats({ bytesRead: 10, bytesNew: 999_999, chunksReused: 2, bytesHashed: 4 }, { chunksNew: 1, bytesNew: 100, storedBytesNew: 50 }, 1200);
  assert.equal(s.bytesNew, 100, 'the agent cannot claim what it did not upload');
  assert.equal(s.chunksNew, 1);
  assert.equal(s.compressionRatio, 2);
  assert.equal(s.bytesRead, 10);
  assert.equal(s.bytesHashed, 4);
});

test('fuzz: mutated and random indexes are refused with an integrity error, never anything else', async () => {
  const diskSize = 6 * CHUNK;
  const { bytes, contentSha256 } = await engineIndex(diskSize);
  for (let i = 0; i < 2000; i++) {
    const bad = i % 3 === 0 ? randomBytes(Math.floor(Math.random() * 400)) : Buffer.from(bytes);
    if (i % 3 !== 0) for (let k = 0; k < 1 + (i % 5); k++) bad[Math.floor(Math.random() * bad.length)] = Math.floor(Math.random() * 256);
    const input = i % 3 === 2 ? bad.subarray(0, Math.floor(Math.random() * bad.length)) : bad;
    try {
      checkIndex(input, { chunkSize: CHUNK, diskSize, finish: finish(diskSize, contentSha256) });
    } catch (err) {
      assert.ok(err instanceof LifeboatError && err.kind === 'integrity', String(err));
    }
  }
});

test('a backup upload: frames checked by the store, bounded in size and count; a missing chunk refuses the finish', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-agent-backup-'));
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: CHUNK });
    const disk = { name: 'vda', sizeBytes: 2 * CHUNK, logicalSectorSize: 512, physicalSectorSize: 512, model: null, serial: 'S1' };
    const up = await BackupUpload.open({ store, disk, parent: null, label: null, host: 'desk' });
    assert.match(up.answer.fingerprintKey, /^[0-9a-f]{128}$/);
    assert.notEqual(up.answer.fingerprintKey, store.key.toString('hex'));
    const raws = [randomBytes(CHUNK), randomBytes(CHUNK)];
    const fatal = async (p: Promise<unknown>, status: number, pattern: RegExp) =>
      assert.rejects(p, (e) => e instanceof AgentRefusal && e.status === status && e.extra.fatal === true && pattern.test(e.message));
    await fatal(up.stage(sha(raws[0] as Buffer).toString('hex'), encodeFrame(raws[1] as Buffer), CHUNK), 422, /has SHA-256/);
    await fatal(up.stage('ab'.repeat(32), randomBytes(CHUNK + 64 * 1024 + 1), CHUNK), 413, /at most/);
    await fatal(up.stage('ab'.repeat(32), randomBytes(10), CHUNK + 1), 400, /at most 65536/);
    assert.equal(await up.stage(sha(raws[0] as Buffer).toString('hex'), encodeFrame(raws[0] as Buffer), CHUNK), true);
    assert.deepEqual(await up.has([sha(raws[0] as Buffer).toString('hex'), sha(raws[1] as Buffer).toString('hex')]), [true, false]);
    // the false frame counted (a size refused before its body is not): the disk has 2 chunks, so a third is one too many
    await fatal(up.stage(sha(raws[1] as Buffer).toString('hex'), encodeFrame(raws[1] as Buffer), CHUNK), 413, /more chunk uploads than the 2 chunks/);
    const index = encodeIndex({ chunkSize: CHUNK, diskSize: 2 * CHUNK, chunkCount: 2, digests: Buffer.concat(raws.map(sha)) });
    up.putIndex(index);
    const content = createHash('sha256').update(Buffer.concat(raws.map(sha))).digest('hex');
    await assert.rejects(up.finish(finish(2 * CHUNK, content)), /the finish reports disk vda \(serial none\); the job started on vda \(serial S1\)/);
    await assert.rejects(up.finish({ ...finish(2 * CHUNK, content), source: { ...finish(2 * CHUNK, content).source, serial: 'S1' } }), /1 chunk\(s\) of the index were never uploaded/);
    await up.close();
    assert.deepEqual(await store.chunks.has([sha(raws[0] as Buffer).toString('hex')]), [false], 'nothing staged was kept');
    assert.deepEqual(await store.imageIds(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: random and mutated frames are refused as the agent\'s fault (AgentRefusal), never kept, never anything else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-agent-fuzz-'));
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: CHUNK });
    const up = await BackupUpload.open({ store, disk: { name: 'vda', sizeBytes: 1000 * CHUNK, logicalSectorSize: 512, physicalSectorSize: 512, model: null, serial: null }, parent: null, label: null, host: 'desk' });
    const raw = Buffer.from('lifeboat '.repeat(CHUNK / 8)).subarray(0, CHUNK);
    const good = encodeFrame(raw);
    const digest = sha(raw).toString('hex');
    for (let i = 0; i < 300; i++) {
      const frame = i % 3 === 0 ? randomBytes(Math.floor(Math.random() * 3000)) : Buffer.from(good);
      if (i % 3 !== 0) for (let k = 0; k < 1 + (i % 4); k++) frame[Math.floor(Math.random() * frame.length)] = Math.floor(Math.random() * 256);
      const input = i % 3 === 2 ? frame.subarray(0, Math.floor(Math.random() * frame.length)) : frame;
      if (input.equals(good)) continue;
      await assert.rejects(up.stage(digest, input, CHUNK), (e) => e instanceof AgentRefusal && e.extra.fatal === true, `frame ${i}`);
    }
    assert.deepEqual(await up.has([digest]), [false]);
    await up.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frame figures: each frame that arrived, and those the store already had (a frame sent again)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-agent-figures-'));
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: CHUNK });
    const up = await BackupUpload.open({ store, disk: { name: 'vda', sizeBytes: 8 * CHUNK, logicalSectorSize: 512, physicalSectorSize: 512, model: null, serial: null }, parent: null, label: null, host: 'desk' });
    assert.deepEqual(up.frameFigures, { framesReceived: 0, framesAlreadyStored: 0 });
    const raws = [randomBytes(CHUNK), randomBytes(CHUNK)];
    const put = (raw: Buffer) => up.stage(sha(raw).toString('hex'), encodeFrame(raw), CHUNK);
    assert.equal(await put(raws[0] as Buffer), true);
    assert.equal(await put(raws[1] as Buffer), true);
    assert.deepEqual(up.frameFigures, { framesReceived: 2, framesAlreadyStored: 0 });
    assert.equal(await put(raws[0] as Buffer), false, 'sent again: not stored twice');
    assert.deepEqual(up.frameFigures, { framesReceived: 3, framesAlreadyStored: 1 });
    await up.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
