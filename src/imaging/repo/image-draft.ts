// An image being made: its files (index, fingerprints, manifest.json) are written and
// fsynced in a staging directory of the store, which commit() renames into images/<id>
// (then fsyncs images/). Until then nobody sees the image; discard() removes the draft,
// and a crash leaves only the staging directory, which gc removes.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeSystemError, usageError } from '../../errors.js';
import { fsyncDir } from './durable.js';

/** A file written at positions (the index: entries first, header last). */
export interface PositionalFile {
  write(data: Buffer, position: number): Promise<void>;
  /** fsync, then close. */
  finish(): Promise<void>;
  /** Closes without syncing (a failed backup); idempotent. */
  close(): Promise<void>;
}

const FILE_NAME = /^[a-z][a-z.]{0,31}$/;

export class ImageDraft {
  private committed = false;

  private constructor(
    readonly id: string,
    private readonly dir: string,
    private readonly target: string,
  ) {}

  /** `dir`: the staging directory (created here); `target`: where commit puts it. */
  static async create(id: string, dir: string, target: string): Promise<ImageDraft> {
    await mkdir(dir, { recursive: true, mode: 0o750 }).catch((err: unknown) => {
      throw describeSystemError(err, `staging directory ${dir}`);
    });
    return new ImageDraft(id, dir, target);
  }

  private path(name: string): string {
    if (!FILE_NAME.test(name)) throw usageError(`invalid image file name ${JSON.stringify(name).slice(0, 40)}`);
    return join(this.dir, name);
  }

  /** A new file of the image, written by position. */
  async openFile(name: string): Promise<PositionalFile> {
    const fh = await open(this.path(name), 'wx', 0o640);
    let closed = false;
    return {
      async write(data, position) {
        for (let done = 0; done < data.length; ) {
          const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
          done += bytesWritten;
        }
      },
      async finish() {
        await fh.sync();
        closed = true;
        await fh.close();
      },
      async close() {
        if (closed) return;
        closed = true;
        await fh.close().catch(() => {});
      },
    };
  }

  /** A new file of the image, written whole and fsynced (closed whatever happens). */
  async writeFile(name: string, data: string | Buffer): Promise<void> {
    const fh = await open(this.path(name), 'wx', 0o640);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** A file as written (what the manifest certifies is what is on disk). */
  readFile(name: string): Promise<Buffer> {
    return readFile(this.path(name));
  }

  /** Makes the image visible as images/<id>: every file of it is already fsynced. */
  async commit(): Promise<void> {
    fsyncDir(this.dir);
    await rename(this.dir, this.target);
    fsyncDir(join(this.target, '..'));
    this.committed = true;
  }

  /** Removes an uncommitted draft; idempotent, never throws. */
  async discard(): Promise<void> {
    if (this.committed) return;
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}
