// The parts of the `lz4` package Lifeboat uses: the raw block codec of its native addon.
// Only ever called through src/imaging/lz4-frame.ts, which checks every return value.
declare module 'lz4' {
  /** Compresses `input` into `output`; returns the compressed size, or 0 when it does not fit. */
  export function encodeBlock(input: Buffer, output: Buffer): number;
  /** Decompresses `input` into `output`; returns the decoded size, or a negative number on damage. */
  export function decodeBlock(input: Buffer, output: Buffer): number;
  export function encodeBound(size: number): number;
  const lz4: { encodeBlock: typeof encodeBlock; decodeBlock: typeof decodeBlock; encodeBound: typeof encodeBound };
  export default lz4;
}
