// Opening a requested file inside the boot root, refusing everything that is not a regular
// file below it: names that climb out ("..", backslashes), symbolic links that lead out,
// directories, devices and FIFOs. The file is opened non-blocking and checked with fstat
// after the open, so a FIFO (whose plain open waits for a writer, holding one of libuv's
// few worker threads) or a file swapped after the check is never read.
import type { FileHandle } from 'node:fs/promises';
import { openBootFile } from '../boot-root.js';
import { TFTP_ERROR } from './codec.js';

/** Why a request gets no file: the TFTP error code and message the client is sent. */
export class Refusal extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** Plain "not found": routine for probe files. */
    readonly notFound = false,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

export const outsideRoot = () => new Refusal(TFTP_ERROR.accessViolation, 'path outside the boot directory');
const notFound = () => new Refusal(TFTP_ERROR.fileNotFound, 'file not found', true);

/** Opens `relative` (already checked by requestedPath) below the root whose real path is `rootReal` (the checks are openBootFile's, shared with HTTP boot). */
export async function openInRoot(rootReal: string, relative: string): Promise<{ fh: FileHandle; size: number }> {
  const r = await openBootFile(rootReal, relative);
  if ('refused' in r) throw r.refused === 'outside-root' ? outsideRoot() : r.refused === 'not-found' ? notFound() : new Refusal(TFTP_ERROR.fileNotFound, 'not a regular file');
  return { fh: r.handle, size: r.size };
}
