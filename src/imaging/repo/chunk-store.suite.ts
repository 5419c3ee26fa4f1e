// The shared test suite every ChunkStore implementation must pass (STYLE 3).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { encodeFrame } from '../lz4-frame.js';
import type { ChunkStore } from './chunk-store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const kind = (k: string) => (e: unknown) => e instanceof LifeboatError && e.kind === k;

export function chunkStoreSuite(name: string, make: () => Promise<{ store: ChunkStore; cleanup: () => Promise<void> }>): void {
  const withStore = (title: string, fn: (store: ChunkStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const { store, cleanup } = await make();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    });

  withStore('keeps a good chunk once and gives it back', async (store) => {
    const raw = Buffer.concat([randomBytes(1000), Buffer.alloc(5000, 3)]);
    const digest = sha(raw);
    assert.equal(await store.has(digest), false);
    assert.equal(await store.putFrame(digest, encodeFrame(raw), raw.length), true);
    assert.equal(await store.putFrame(digest, encodeFrame(raw), raw.length), false, 'second put is not new');
    assert.equal(await store.has(digest), true);
    assert.ok((await store.getFrame(digest)).equals(encodeFrame(raw)));
    const listed = [];
    for await (const c of store.list()) listed.push(c.digest);
    assert.deepEqual(listed, [digest]);
  });

  withStore('refuses a chunk offered under a false digest', async (store) => {
    const raw = randomBytes(4096);
    const other = sha(randomBytes(10));
    await assert.rejects(store.putFrame(other, encodeFrame(raw), raw.length), kind('integrity'));
    assert.equal(await store.has(other), false);
  });

  withStore('refuses a damaged or wrongly sized frame', async (store) => {
    const raw = Buffer.alloc(10000, 7);
    const digest = sha(raw);
    const frame = encodeFrame(raw);
    await assert.rejects(store.putFrame(digest, frame.subarray(0, frame.length - 3), raw.length), kind('integrity'));
    await assert.rejects(store.putFrame(digest, frame, raw.length + 1), kind('integrity'));
    assert.equal(await store.has(digest), false);
  });

  withStore('refuses malformed digests (no path tricks)', async (store) => {
    for (const bad of ['../../etc/passwd', 'AB'.repeat(32), 'ab'.repeat(31), '']) {
      await assert.rejects(store.has(bad), kind('usage'), bad);
      await assert.rejects(store.getFrame(bad), kind('usage'), bad);
    }
  });

  withStore('reports a missing chunk as not found; remove is idempotent', async (store) => {
    const raw = Buffer.from('x');
    const digest = sha(raw);
    await assert.rejects(store.getFrame(digest), kind('not-found'));
    await store.putFrame(digest, encodeFrame(raw), 1);
    await store.remove(digest);
    await store.remove(digest);
    assert.equal(await store.has(digest), false);
  });
}
