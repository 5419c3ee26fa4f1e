// The one file that talks to NeDB (nedb-promises). A Table is a collection with typed
// documents; the collection modules build on it and no caller outside src/db/ ever
// sees a NeDB query. Writes that fail for a reason other than a unique index (a full
// disk, a permission change) put the whole store in a failed state: NeDB has already
// changed its in-memory copy and may have appended half a line, so every later write is
// refused until the daemon restarts and reloads from the files (where a half line at
// the end is a truncated tail that the datafile check drops).
import Datastore from 'nedb-promises';
import { LifeboatError, bug, conflictError, describeSystemError, integrityError, userError } from '../errors.js';
import { escapeLineBreakers } from './datafile.js';
import { isNoSpace, noSpaceError } from './disk-space.js';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export type Query = Record<string, unknown>;
export type Sort = Record<string, 1 | -1>;

/** Serialises read-check-write sequences (one daemon process owns the store). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Shared by all tables of one store: why writes are refused, if they are. */
export class Health {
  failure: LifeboatError | null = null;
  closed = false;
  readonly onFailure: (() => void)[] = [];

  assertOpen(): void {
    if (this.closed) throw bug('the management store was used after close()');
  }

  assertWritable(): void {
    this.assertOpen();
    if (this.failure) throw userError(`the management database refuses writes since an earlier write failed (${this.failure.message}): fix that, then restart the daemon`);
  }

  fail(err: LifeboatError): void {
    if (this.failure) return;
    this.failure = err;
    for (const f of this.onFailure) f();
  }
}

/**
 * The @seald-io/nedb datastore under nedb-promises' wrapper, for what the wrapper does
 * not declare. Not through the wrapper's Proxy: its set trap returns the value set, so
 * stopAutocompaction() setting the timer id to null throws in strict mode.
 */
interface Compaction {
  setAutocompactionInterval(ms: number): void;
  stopAutocompaction(): void;
  compactDatafileAsync(): Promise<void>;
}

type Nedb = ReturnType<typeof Datastore.create>;

const original = (ds: Nedb) => (ds as unknown as { __original: Compaction }).__original;

interface NedbError extends Error {
  errorType?: string;
  key?: unknown;
}

export interface IndexSpec {
  field: string;
  unique?: boolean;
  sparse?: boolean;
}

export class Table<D extends { _id: string }> {
  private constructor(
    readonly name: string,
    /** Path of the datafile, or null in memory. */
    readonly file: string | null,
    private readonly ds: Nedb,
    private readonly health: Health,
  ) {}

  static async open<D extends { _id: string }>(name: string, file: string | null, health: Health, indexes: IndexSpec[]): Promise<Table<D>> {
    const options = {
      filename: file ?? undefined,
      inMemoryOnly: file === null,
      // The datafile check ran first and left only good lines: anything NeDB still finds bad is a disagreement to report, not to skip.
      corruptAlertThreshold: 0,
      afterSerialization: escapeLineBreakers,
      beforeDeserialization: (line: string) => line,
      modes: { fileMode: 0o640, dirMode: 0o750 },
    };
    const ds = Datastore.create(options);
    const table = new Table<D>(name, file, ds, health);
    try {
      await ds.load();
      for (const index of indexes) await ds.ensureIndex({ fieldName: index.field, unique: index.unique ?? false, sparse: index.sparse ?? false });
    } catch (err) {
      const e = err as NedbError;
      const where = file ?? `the in-memory ${name} collection`;
      if (e.errorType === 'uniqueViolated') {
        throw integrityError(`${where}: two documents have the same ${JSON.stringify(e.key)} where it must be unique (edited by hand?): remove one of them from the file, then start again`);
      }
      if (/corrupt/.test(e.message ?? '')) throw integrityError(`${where}: NeDB found damaged lines the datafile check missed (${e.message}): a bug in Lifeboat, please report it`);
      if (file !== null && isNoSpace(err)) throw noSpaceError(dirname(file), `opening ${basename(file)} (NeDB rewrites each datafile as it loads it)`, (await stat(file).catch(() => null))?.size ?? 0, err);
      throw describeSystemError(err, `management database file ${where}`);
    }
    health.onFailure.push(() => original(ds).stopAutocompaction());
    return table;
  }

  setAutocompaction(ms: number): void {
    if (this.file !== null) original(this.ds).setAutocompactionInterval(ms);
  }

  /** Rewrites the datafile from memory (one line per document); waits for queued writes first. */
  async compact(): Promise<void> {
    if (this.file === null || this.health.failure) return;
    await this.guard(() => original(this.ds).compactDatafileAsync());
  }

  stopAutocompaction(): void {
    original(this.ds).stopAutocompaction();
  }

  async find(query: Query, opts: { sort?: Sort; limit?: number; skip?: number } = {}): Promise<D[]> {
    this.health.assertOpen();
    let cursor = this.ds.find(query);
    if (opts.sort) cursor = cursor.sort(opts.sort);
    if (opts.skip) cursor = cursor.skip(opts.skip);
    if (opts.limit !== undefined) cursor = cursor.limit(opts.limit);
    return (await cursor) as unknown as D[];
  }

  async findOne(query: Query): Promise<D | null> {
    this.health.assertOpen();
    return (await this.ds.findOne(query)) as unknown as D | null;
  }

  async count(query: Query = {}): Promise<number> {
    this.health.assertOpen();
    return this.ds.count(query);
  }

  async insert(doc: D): Promise<D> {
    return this.guard(async () => (await this.ds.insert(withoutUndefined(doc))) as unknown as D);
  }

  /** Replaces the document with `doc._id` whole (fields left out are removed). */
  async replace(doc: D): Promise<void> {
    await this.guard(async () => {
      const n = await this.ds.update({ _id: doc._id }, withoutUndefined(doc), {});
      if (n !== 1) throw bug(`${this.name}: replacing ${doc._id} matched ${n} documents`);
    });
  }

  async remove(query: Query, multi = false): Promise<number> {
    return this.guard(() => this.ds.remove(query, { multi }));
  }

  private async guard<T>(write: () => Promise<T>): Promise<T> {
    this.health.assertWritable();
    try {
      return await write();
    } catch (err) {
      const e = err as NedbError;
      // NeDB checks unique indexes before it changes anything: memory and file stay as they were.
      if (e.errorType === 'uniqueViolated') throw conflictError(`${this.name}: ${JSON.stringify(e.key)} is already taken`);
      if (err instanceof LifeboatError) throw err;
      const failure = describeSystemError(err, `writing the management database file ${this.file ?? this.name}`);
      this.health.fail(failure);
      throw failure;
    }
  }
}

/** A copy without undefined fields (NeDB would keep them in memory and drop them on disk). */
export function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out as T;
}

/** NeDB's _id becomes the record's id. */
export function toRecord<R extends { id: string }>(doc: { _id: string } & Record<string, unknown>): R {
  const { _id, ...rest } = withoutUndefined(doc);
  return { id: _id, ...rest } as unknown as R;
}
