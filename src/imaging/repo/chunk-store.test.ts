import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryChunkStore } from './chunk-store.js';
import { chunkStoreSuite } from './chunk-store.suite.js';
import { DirChunkStore } from './dir-chunk-store.js';
import { Store } from './store.js';

chunkStoreSuite('memory', async () => ({ store: new MemoryChunkStore(), cleanup: async () => {} }));

chunkStoreSuite('directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-chunks-'));
  const store = await Store.open(join(dir, 'store'), { create: true });
  return { store: new DirChunkStore(store.root), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
