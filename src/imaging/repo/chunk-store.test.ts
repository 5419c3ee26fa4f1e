import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryChunkStore } from './memory-chunk-store.js';
import { type TestChunk, chunkStoreSuite, testChunk } from './chunk-store.suite.js';
import { DirChunkStore } from './dir-chunk-store.js';
import { collectGarbage } from './gc.js';
import { ImageStore } from './image-store.js';

chunkStoreSuite('memory', async () => {
  const store = new MemoryChunkStore();
  return {
    store,
    crash: async (chunks) => {
      const session = await store.beginSession('crashing');
      for (const c of chunks) await session.stage(c.digest, c.frame, c.raw.length);
      store.crash(session);
    },
    cleanup: async () => {},
  };
});

/**
 * A real crash: a child process opens the directory store, stages the chunks in a session
 * and is killed (SIGKILL) before it publishes or closes.
 */
function crashingWriter(root: string, chunks: TestChunk[]): void {
  const module = new URL('./dir-chunk-store.ts', import.meta.url).href;
  const code = `
    const { DirChunkStore } = await import(${JSON.stringify(module)});
    const chunks = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const session = await new DirChunkStore(${JSON.stringify(root)}).beginSession('crashing');
    for (const c of chunks) await session.stage(c.digest, Buffer.from(c.frame, 'base64'), c.size);
    process.kill(process.pid, 'SIGKILL');`;
  const input = JSON.stringify(chunks.map((c) => ({ digest: c.digest, frame: c.frame.toString('base64'), size: c.raw.length })));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=commonjs', '-e', `(async () => { ${code} })()`], { input, encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', `the writer should have been killed: ${r.stderr}`);
}

chunkStoreSuite('directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-chunks-'));
  const store = await ImageStore.open(join(dir, 'store'), { create: true });
  return {
    store: new DirChunkStore(store.root),
    crash: async (chunks) => crashingWriter(store.root, chunks),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('directory: a running session keeps store gc out; after a crashed writer, gc runs and clears its staged files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-chunks-gc-'));
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true });
    const session = await store.chunks.beginSession('20261125T181200Z-3fa9c2d1');
    await assert.rejects(collectGarbage(store), /a backup is running \(image 20261125T181200Z-3fa9c2d1/);
    await session.close();
    crashingWriter(store.root, [testChunk(), testChunk()]);
    assert.equal(readdirSync(join(store.root, 'tmp')).length, 2, 'the crashed writer left its two staged frames');
    const report = await collectGarbage(store);
    assert.equal(report.tempFilesRemoved, 2);
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
