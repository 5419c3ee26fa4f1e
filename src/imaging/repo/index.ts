// The image store: one directory holding content-addressed chunks and, per image, an
// index, fingerprints and a certified manifest (formats.ts declares every byte).
//
// Invariants:
// - The engine reaches chunks only through the ChunkStore interface (chunk-store.ts):
//   backups stage frames in a session and publish them before the image commits;
//   restores and verifies read frames; worker threads open the same interface from a
//   plain ref (chunk-store-ref.ts). Only dir-chunk-store.ts knows the chunk directory's
//   layout; every implementation passes chunk-store.suite.ts.
// - A chunk is kept only under its own name: decode + SHA-256 must give the digest it is
//   offered under. A chunk name never points at data that is not on disk.
// - An image exists only once images/<id>/ was renamed into place after everything it
//   needs is durable (image-draft.ts); a crash leaves only temp files, which gc removes.
// - Ids and digests from outside are checked against their patterns before they become paths.
export { type ChunkInfo, type ChunkReader, type ChunkSession, type ChunkStore, type FrameStager, missingChunks } from './chunk-store.js';
export { openChunkReader, openFrameStager } from './chunk-store-ref.js';
export { DirChunkStore } from './dir-chunk-store.js';
export { MemoryChunkStore } from './memory-chunk-store.js';
export { type GcReport, collectGarbage } from './gc.js';
export { ImageStore } from './image-store.js';
