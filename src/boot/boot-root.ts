// Opening a file of the boot root for a client (TFTP or HTTP): the name is hostile until
// checked. Only a name inside the root (after symbolic links) that is a regular file is
// opened, and it is opened non-blocking and checked with fstat after the open, so a FIFO
// or a device node planted in the root can never tie up the process's I/O threads.
import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';

export type BootFileRefusal = { refused: 'outside-root' | 'not-found' | 'not-a-file'; reason: string };
export type BootFile = { handle: FileHandle; size: number; path: string };

/**
 * The path inside the boot root that a requested name means, or null when it would leave
 * the root. Clients ask for "ipxe.efi", "/ipxe.efi" or "boot/x": a leading slash is
 * relative to the root; "..", backslashes, NUL and empty names are refused.
 */
export function bootRootPath(name: string): string | null {
  if (name.includes('\\') || name.includes('\0')) return null;
  const relative = name.replace(/^\/+/, '');
  if (relative === '' || relative.split('/').includes('..')) return null;
  const normal = posix.normalize(relative);
  if (normal === '.' || normal.startsWith('../') || posix.isAbsolute(normal)) return null;
  return normal;
}

/** Opens `name` below `rootReal` (the root's own realpath) if it is a regular file there. */
export async function openBootFile(rootReal: string, name: string): Promise<BootFile | BootFileRefusal> {
  const relative = bootRootPath(name);
  if (relative === null) return { refused: 'outside-root', reason: 'path outside the boot directory' };
  let real: string;
  try {
    real = await realpath(join(rootReal, relative));
  } catch {
    return { refused: 'not-found', reason: 'file not found' };
  }
  if (!real.startsWith(`${rootReal}/`)) return { refused: 'outside-root', reason: 'path outside the boot directory' };
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; O_NOFOLLOW: the path was resolved once.
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return { refused: 'not-found', reason: 'file not found' };
  }
  const stat = await handle.stat().catch(() => null);
  if (!stat?.isFile()) {
    await handle.close().catch(() => {});
    return { refused: 'not-a-file', reason: 'not a regular file' };
  }
  return { handle, size: stat.size, path: real };
}
