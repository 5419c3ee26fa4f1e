// Opens a chunk store (or a session of one) from the ref a worker thread was given: the
// one place that maps a ref's kind to the implementation's thread-side code. A new store
// kind (S3) adds its case here and in ChunkStoreRef. `agent`: the appliance's store over
// the agent API, from the boot OS (src/agent/http-chunks.ts).
import { bug } from '../../errors.js';
import type { ChunkReader, ChunkSessionRef, ChunkStoreRef, FrameStager } from './chunk-store.js';
import { agentChunkReader, agentFrameStager } from '../../agent/http-chunks.js';
import { dirChunkReader, dirFrameStager } from './dir-chunk-store.js';
import { MemoryChunkStore } from './memory-chunk-store.js';

export function openChunkReader(ref: ChunkStoreRef): ChunkReader {
  switch (ref?.kind) {
    case 'directory':
      return dirChunkReader(ref.root);
    case 'memory':
      return MemoryChunkStore.fromRef(ref);
    case 'agent':
      return agentChunkReader(ref);
    default:
      throw bug(`unknown chunk store ref ${JSON.stringify(ref)?.slice(0, 80)}`);
  }
}

export function openFrameStager(ref: ChunkSessionRef): FrameStager {
  switch (ref?.kind) {
    case 'directory':
      return dirFrameStager(ref.root, ref.session);
    case 'memory':
      return MemoryChunkStore.sessionFromRef(ref);
    case 'agent':
      return agentFrameStager(ref);
    default:
      throw bug(`unknown chunk session ref ${JSON.stringify(ref)?.slice(0, 80)}`);
  }
}
