// The shared test suite every ChunkStore implementation must pass (STYLE 3): the memory
// twin and the directory store today; an HTTP client store (the agent) or an S3 store
// only has to pass it too. An implementation provides the store and a way to crash a
// writer: stage frames in a session whose owner then dies without publishing or closing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { encodeFrame } from '../lz4-frame.js';
import type { ChunkStore } from './chunk-store.js';
import { openChunkReader, openFrameStager } from './chunk-store-ref.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const kind = (k: string) => (e: unknown) => e instanceof LifeboatError && e.kind === k;

export interface TestChunk {
  digest: string;
  raw: Buffer;
  frame: Buffer;
}

/** A chunk of `size` bytes, half random (so it compresses, but not to nothing). */
export function testChunk(size = 6000): TestChunk {
  const raw = Buffer.concat([randomBytes(size >> 1), Buffer.alloc(size - (size >> 1), 3)]);
  return { digest: sha(raw), raw, frame: encodeFrame(raw) };
}

export interface SuiteStore {
  store: ChunkStore;
  /** Stages `chunks` in a session of a writer that then dies without publish or close. */
  crash: (chunks: TestChunk[]) => Promise<void>;
  cleanup: () => Promise<void>;
}

async function listed(store: ChunkStore): Promise<string[]> {
  const out: string[] = [];
  for await (const c of store.list()) out.push(c.digest);
  return out.sort();
}

export function chunkStoreSuite(name: string, make: () => Promise<SuiteStore>): void {
  const withStore = (title: string, fn: (s: SuiteStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const s = await make();
      try {
        await fn(s);
      } finally {
        await s.cleanup();
      }
    });

  withStore('a staged chunk has no name until the session publishes it; then it is kept once and given back', async ({ store }) => {
    const c = testChunk();
    const session = await store.beginSession('test');
    try {
      assert.deepEqual(await store.has([c.digest]), [false]);
      assert.equal(await session.stage(c.digest, c.frame, c.raw.length), true);
      assert.equal(await session.stage(c.digest, c.frame, c.raw.length), false, 'staged twice: not new');
      assert.equal(await session.has(c.digest), true, 'the session knows what it staged');
      assert.deepEqual(await store.has([c.digest]), [false], 'not in the store before publish');
      assert.deepEqual(await listed(store), []);
      assert.equal(await session.publish(), 1);
      assert.deepEqual(await store.has([c.digest, testChunk().digest]), [true, false]);
      assert.ok((await store.getFrame(c.digest)).equals(c.frame));
      const into = Buffer.alloc(c.frame.length + 100);
      assert.ok((await openChunkReader(store.ref).getFrame(c.digest, into)).equals(c.frame), 'through the ref, into a buffer');
      assert.deepEqual(await listed(store), [c.digest]);
    } finally {
      await session.close();
    }
    assert.deepEqual(await listed(store), [c.digest], 'closing after publish drops nothing');
  });

  withStore('refuses a frame under a false name, a damaged or wrongly sized frame, and one that is not the bytes that were hashed', async ({ store }) => {
    const c = testChunk();
    const other = testChunk();
    const session = await store.beginSession('test');
    try {
      await assert.rejects(session.stage(other.digest, c.frame, c.raw.length), kind('integrity'));
      await assert.rejects(session.stage(c.digest, c.frame.subarray(0, c.frame.length - 3), c.raw.length), kind('integrity'));
      await assert.rejects(session.stage(c.digest, c.frame, c.raw.length + 1), kind('integrity'));
      await assert.rejects(session.stage(c.digest, c.frame, c.raw.length, { hashed: other.raw }), kind('integrity'));
      await assert.rejects(openFrameStager(session.ref).stage(other.digest, c.frame, c.raw.length), kind('integrity'), 'through the ref too');
      assert.equal(await session.has(other.digest), false);
      assert.equal(await session.publish(), 0);
      assert.deepEqual(await store.has([c.digest, other.digest]), [false, false]);
    } finally {
      await session.close();
    }
  });

  withStore('refuses malformed digests (no path tricks)', async ({ store }) => {
    const c = testChunk();
    const session = await store.beginSession('test');
    try {
      for (const bad of ['../../etc/passwd', 'AB'.repeat(32), 'ab'.repeat(31), '', `${'ab'.repeat(31)}/.`]) {
        await assert.rejects(store.has([bad]), kind('usage'), bad);
        await assert.rejects(store.getFrame(bad), kind('usage'), bad);
        await assert.rejects(store.remove(bad), kind('usage'), bad);
        await assert.rejects(session.has(bad), kind('usage'), bad);
        await assert.rejects(session.stage(bad, c.frame, c.raw.length), kind('usage'), bad);
      }
    } finally {
      await session.close();
    }
  });

  withStore('reports a missing chunk as not found; remove is idempotent', async ({ store }) => {
    const c = testChunk(1);
    await assert.rejects(store.getFrame(c.digest), kind('not-found'));
    const session = await store.beginSession('test');
    await session.stage(c.digest, c.frame, 1);
    await session.publish();
    await session.close();
    await store.remove(c.digest);
    await store.remove(c.digest);
    assert.deepEqual(await store.has([c.digest]), [false]);
    await assert.rejects(store.getFrame(c.digest), kind('not-found'));
  });

  withStore('stage then crash (no publish): no named chunk; sweep clears what was staged; the chunk can be stored again', async ({ store, crash }) => {
    const a = testChunk();
    const b = testChunk();
    await crash([a, b]);
    assert.deepEqual(await store.has([a.digest, b.digest]), [false, false]);
    assert.deepEqual(await listed(store), []);
    const session = await store.beginSession('after-crash');
    try {
      assert.equal(await session.has(a.digest), false, 'another session never sees a crashed session’s frames');
      assert.equal(await store.sweep({ dryRun: true }), 2);
      assert.equal(await store.sweep(), 2);
      assert.equal(await store.sweep(), 0);
      assert.equal(await session.stage(a.digest, a.frame, a.raw.length), true);
      assert.equal(await session.publish(), 1);
    } finally {
      await session.close();
    }
    assert.deepEqual(await listed(store), [a.digest]);
  });

  withStore('publish is idempotent, and a session may stage and publish again', async ({ store }) => {
    const [a, b] = [testChunk(), testChunk()];
    const session = await store.beginSession('test');
    try {
      await session.stage(a.digest, a.frame, a.raw.length);
      assert.equal(await session.publish(), 1);
      assert.equal(await session.publish(), 0);
      assert.equal(await session.stage(a.digest, a.frame, a.raw.length), false, 'published: the store has it');
      await session.stage(b.digest, b.frame, b.raw.length);
      assert.equal(await session.publish(), 1);
      assert.equal(await session.publish(), 0);
    } finally {
      await session.close();
      await session.close();
    }
    assert.deepEqual(await listed(store), [a.digest, b.digest].sort());
    assert.ok((await store.getFrame(b.digest)).equals(b.frame));
  });

  withStore('concurrent sessions dedup against each other; one closing unpublished takes nothing from the other', async ({ store }) => {
    const [shared, onlyA, onlyB] = [testChunk(), testChunk(), testChunk()];
    const a = await store.beginSession('job-a');
    const b = await store.beginSession('job-b');
    try {
      assert.equal(await a.stage(shared.digest, shared.frame, shared.raw.length), true);
      assert.equal(await b.stage(shared.digest, shared.frame, shared.raw.length), true, 'unpublished frames of another session are not relied on');
      await a.stage(onlyA.digest, onlyA.frame, onlyA.raw.length);
      assert.equal(await b.has(onlyA.digest), false);
      assert.equal(await a.publish(), 2);
      assert.equal(await b.has(onlyA.digest), true, 'published by a: b sees it');
      assert.equal(await b.stage(onlyA.digest, onlyA.frame, onlyA.raw.length), false, 'and does not store it again');
      await b.stage(onlyB.digest, onlyB.frame, onlyB.raw.length);
      assert.equal(await b.publish(), 1, 'the shared chunk was already named by a');
      const c = await store.beginSession('job-c');
      const d = await store.beginSession('job-d');
      const late = testChunk();
      await c.stage(late.digest, late.frame, late.raw.length);
      await d.stage(late.digest, late.frame, late.raw.length);
      await c.close();
      assert.equal(await d.publish(), 1, 'c closing unpublished took nothing from d');
      await d.close();
      assert.deepEqual(await listed(store), [shared.digest, onlyA.digest, onlyB.digest, late.digest].sort());
    } finally {
      await a.close();
      await b.close();
    }
  });

  withStore('gc (sweep, and removing every unreferenced chunk) never removes a staged chunk of a running session', async ({ store }) => {
    const [old, mine] = [testChunk(), testChunk()];
    const first = await store.beginSession('old');
    await first.stage(old.digest, old.frame, old.raw.length);
    await first.publish();
    await first.close();
    const session = await store.beginSession('running');
    try {
      assert.equal(await session.stage(mine.digest, mine.frame, mine.raw.length), true);
      // What gc does with nothing referenced: sweep, then remove every listed chunk.
      assert.equal(await store.sweep(), 0);
      for await (const c of store.list()) await store.remove(c.digest);
      assert.deepEqual(await listed(store), [], 'the unreferenced published chunk went');
      assert.equal(await session.has(mine.digest), true);
      assert.equal(await session.publish(), 1);
    } finally {
      await session.close();
    }
    assert.ok((await store.getFrame(mine.digest)).equals(mine.frame));
  });

  withStore('frames staged through the session’s ref (as worker threads do) are published by the session; close drops what was not', async ({ store }) => {
    const [a, b, c] = [testChunk(), testChunk(), testChunk()];
    const session = await store.beginSession('threads');
    const stager = openFrameStager(session.ref);
    try {
      assert.equal(await stager.stage(a.digest, a.frame, a.raw.length, { hashed: a.raw }), true);
      assert.equal(await stager.stage(a.digest, a.frame, a.raw.length), false);
      assert.equal(await session.has(a.digest), true);
      assert.equal(await stager.has(a.digest), true);
      session.noteStaged(a.digest);
      await stager.stage(b.digest, b.frame, b.raw.length); // never noted: publish finds it all the same
      assert.equal(await session.publish(), 2);
      assert.deepEqual(await store.has([a.digest, b.digest]), [true, true]);
      await stager.stage(c.digest, c.frame, c.raw.length);
    } finally {
      await session.close();
    }
    assert.deepEqual(await store.has([c.digest]), [false], 'closed unpublished: dropped');
    assert.equal(await store.sweep(), 0, 'close left nothing for sweep');
    await assert.rejects(session.publish(), kind('usage'), 'a closed session cannot publish');
  });
}
