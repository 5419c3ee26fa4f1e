// Layout: pure parsers of partition tables and filesystems that turn on-disk
// metadata into used-byte maps. Invariants: every field is bounds-checked before
// use; damaged or hostile metadata raises LayoutProblem (the caller images that
// region raw and warns); nothing here opens files or sockets — callers pass a
// BlockReader.
export * from './types.js';
