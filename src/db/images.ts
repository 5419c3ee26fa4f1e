// Images: a mirror of the image store's manifests, for listing and lookups without
// reading the store. The store is the truth: reconcile() makes this collection equal to
// what the store holds. Two fields only the database knows survive reconcile: which
// machine an image belongs to (the job that made it knows; the manifest does not),
// `protected` (retention never deletes a protected image) and `location`: an image a
// machine's agent wrote to a destination (a client's disk, a share) is recorded here
// though the appliance's store does not hold it, and reconcile keeps it until it is
// imported (then the store holds it and its location is the appliance again).
import { isDeepStrictEqual } from 'node:util';
import { LifeboatError, bug, notFoundError, userError } from '../errors.js';
import { IMAGE_ID } from '../imaging/repo/formats.js';
import type { Manifest } from '../imaging/repo/manifest.js';
import { type LayoutSummary, minimumTargetSize } from '../imaging/retarget.js';
import type { StoreContext } from './context.js';
import { toRecord, withoutUndefined } from './table.js';
import { checkBoolean, checkInteger, checkKeys, checkNonEmptyText, checkObject, checkText, checkTime, describe } from './validate.js';

/** What the image store says about an image (from its manifest). */
export interface ImageFacts {
  id: string;
  label: string | null;
  host: string;
  createdAt: string;
  completedAt: string;
  diskSize: number;
  /** The smallest disk it can be restored onto (its partitions must fit); diskSize for raw images. */
  minTargetBytes?: number;
  chunkSize: number;
  chunkCount: number;
  bytesNew: number;
  storedBytesNew: number;
  parent: string | null;
  sourcePath: string;
  sourceKind: 'block' | 'file' | 'stream';
  diskModel?: string;
  diskSerial?: string;
  hasPassphrase: boolean;
}

/** What only the database knows about an image. */
export interface ImageOwnership {
  machineId?: string;
  protected: boolean;
  /** Where the image is when not in the appliance's store: `client-disk LABEL=…`, `client-disk UUID=…`, `share <name>`. Absent: the appliance. */
  location?: string;
}

/** A location other than the appliance, as destination.ts writes it (locationOf). */
const LOCATION = /^(client-disk (LABEL=[A-Za-z0-9._-]{1,16}|UUID=[0-9a-f-]{9,36})|share [A-Za-z0-9][A-Za-z0-9._-]{0,62})$/;

export function checkLocation(value: unknown): string {
  if (typeof value === 'string' && LOCATION.test(value)) return value;
  throw userError(`image location ${describe(value)} is not client-disk LABEL=<label>, client-disk UUID=<uuid> or share <name>`);
}

export type ImageRecord = ImageFacts & ImageOwnership;
export type ImageDoc = Omit<ImageRecord, 'id'> & { _id: string };

export interface ReconcileResult {
  added: string[];
  updated: string[];
  removed: string[];
  /** Images whose facts the database refuses (a label with a line break…): left out, each with why. */
  skipped: Array<{ id: string; error: string }>;
}

export interface Images {
  /** Adds or updates one image (the job runner calls this when an image commits). */
  record(facts: ImageFacts, ownership?: Partial<Omit<ImageOwnership, 'location'>> & { location?: string | null }): Promise<ImageRecord>;
  get(id: string): Promise<ImageRecord>;
  find(id: string): Promise<ImageRecord | null>;
  /** Newest first. */
  list(filter?: { machineId?: string; diskSerial?: string }): Promise<ImageRecord[]>;
  setProtected(id: string, value: boolean): Promise<ImageRecord>;
  setMachine(id: string, machineId: string | null): Promise<ImageRecord>;
  /** Forgets the image (after the store deleted it); not-found if unknown. */
  remove(id: string): Promise<ImageRecord>;
  /**
   * Makes the collection equal to `facts` (all images the store holds) and says what changed.
   * One image the database refuses is skipped and reported, never a reason to fail the rest.
   */
  reconcile(facts: ImageFacts[]): Promise<ReconcileResult>;
}

/** The facts a manifest gives. Pure. */
export function imageFactsFromManifest(m: Manifest): ImageFacts {
  const facts: ImageFacts = {
    id: m.id,
    label: m.label,
    host: m.host,
    createdAt: m.createdAt,
    completedAt: m.completedAt,
    diskSize: m.diskSize,
    chunkSize: m.chunkSize,
    chunkCount: m.chunkCount,
    bytesNew: m.stats.bytesNew,
    storedBytesNew: m.stats.storedBytesNew,
    parent: m.parent,
    sourcePath: m.source.path,
    sourceKind: m.source.kind,
    hasPassphrase: m.passphrase !== null,
  };
  facts.minTargetBytes = minimumTargetSize(m.layout as LayoutSummary | null, m.diskSize);
  if (m.source.model) facts.diskModel = m.source.model;
  if (m.source.serial) facts.diskSerial = m.source.serial;
  return facts;
}

export function checkImageId(value: unknown): string {
  if (typeof value === 'string' && IMAGE_ID.test(value)) return value;
  throw userError(`image id ${describe(value)} is invalid: ids look like 20261125T181200Z-3fa9c2d1 (see \`lifeboat images list\`)`);
}

const FACT_KEYS = ['id', 'label', 'host', 'createdAt', 'completedAt', 'diskSize', 'minTargetBytes', 'chunkSize', 'chunkCount', 'bytesNew', 'storedBytesNew', 'parent', 'sourcePath', 'sourceKind', 'diskModel', 'diskSerial', 'hasPassphrase'] as const;

export function checkImageFacts(value: unknown): ImageFacts {
  const v = checkObject('image', value);
  checkKeys('image', v, FACT_KEYS);
  const id = checkImageId(v.id);
  const at = `image ${id}`;
  if (v.sourceKind !== 'block' && v.sourceKind !== 'file' && v.sourceKind !== 'stream') throw userError(`${at}: sourceKind must be block, file or stream, not ${describe(v.sourceKind)}`);
  const facts: ImageFacts = {
    id,
    label: v.label === null ? null : checkText(`${at} label`, v.label),
    host: checkText(`${at} host`, v.host),
    createdAt: checkTime(`${at} createdAt`, v.createdAt),
    completedAt: checkTime(`${at} completedAt`, v.completedAt),
    diskSize: checkInteger(`${at} diskSize`, v.diskSize),
    chunkSize: checkInteger(`${at} chunkSize`, v.chunkSize, 1),
    chunkCount: checkInteger(`${at} chunkCount`, v.chunkCount),
    bytesNew: checkInteger(`${at} bytesNew`, v.bytesNew),
    storedBytesNew: checkInteger(`${at} storedBytesNew`, v.storedBytesNew),
    parent: v.parent === null ? null : checkImageId(v.parent),
    sourcePath: checkText(`${at} sourcePath`, v.sourcePath, 4096),
    sourceKind: v.sourceKind,
    hasPassphrase: checkBoolean(`${at} hasPassphrase`, v.hasPassphrase),
  };
  if (v.minTargetBytes !== undefined) facts.minTargetBytes = checkInteger(`${at} minTargetBytes`, v.minTargetBytes);
  if (v.diskModel !== undefined) facts.diskModel = checkText(`${at} diskModel`, v.diskModel);
  if (v.diskSerial !== undefined) facts.diskSerial = checkText(`${at} diskSerial`, v.diskSerial);
  return facts;
}

const factsOf = (r: ImageFacts): Omit<ImageFacts, 'id'> => {
  const out: Record<string, unknown> = {};
  for (const k of FACT_KEYS) if (k !== 'id' && r[k] !== undefined) out[k] = r[k];
  return out as Omit<ImageFacts, 'id'>;
};

/** What reconcile must do to turn `current` into `wanted`. Pure. */
export function diffImages(current: ImageRecord[], wanted: ImageFacts[]): { add: ImageFacts[]; update: ImageFacts[]; remove: string[] } {
  const have = new Map(current.map((r) => [r.id, r]));
  const seen = new Set<string>();
  const add: ImageFacts[] = [];
  const update: ImageFacts[] = [];
  for (const f of wanted) {
    if (seen.has(f.id)) throw bug(`reconcile was given image ${f.id} twice`);
    seen.add(f.id);
    const r = have.get(f.id);
    if (!r) add.push(f);
    else if (!isDeepStrictEqual(factsOf(r), factsOf(f))) update.push(f);
  }
  const remove = current.filter((r) => !seen.has(r.id)).map((r) => r.id);
  return { add, update, remove };
}

export function imagesCollection(ctx: StoreContext): Images {
  const { images, machines } = ctx.tables;
  const byNewest = { createdAt: -1 as const };

  const find = async (id: string) => {
    const doc = await images.findOne({ _id: checkImageId(id) });
    return doc ? toRecord<ImageRecord>(doc) : null;
  };
  const get = async (id: string) => {
    const r = await find(id);
    if (!r) throw notFoundError(`no image ${id}: see \`lifeboat images list\``);
    return r;
  };
  const assertMachine = async (machineId: string) => {
    const id = checkNonEmptyText('machine id', machineId, 64);
    if (!(await machines.findOne({ _id: id }))) throw notFoundError(`no machine with id ${id}: see \`lifeboat machines list\``);
    return id;
  };
  const save = async (r: ImageRecord) => {
    const { id, ...rest } = r;
    await images.replace(withoutUndefined({ _id: id, ...rest }));
    return r;
  };

  return {
    get,
    find,

    async record(value, ownership = {}) {
      const facts = checkImageFacts(value);
      const own = checkObject('image ownership', ownership);
      checkKeys('image ownership', own, ['machineId', 'protected', 'location']);
      const location = own.location === undefined || own.location === null ? own.location : checkLocation(own.location);
      return ctx.lock.run(async () => {
        const current = await find(facts.id);
        const r: ImageRecord = { ...facts, protected: current?.protected ?? false };
        if (current?.machineId) r.machineId = current.machineId;
        if (location !== undefined ? location !== null : current?.location !== undefined) r.location = (location ?? current?.location) as string;
        if (own.machineId !== undefined) r.machineId = await assertMachine(own.machineId as string);
        if (own.protected !== undefined) r.protected = checkBoolean('protected', own.protected);
        if (current) return save(r);
        const { id, ...rest } = r;
        return toRecord<ImageRecord>(await images.insert({ _id: id, ...rest }));
      });
    },

    async list(filter = {}) {
      const f = checkObject('image filter', filter);
      checkKeys('image filter', f, ['machineId', 'diskSerial']);
      const query: Record<string, string> = {};
      if (f.machineId !== undefined) query.machineId = checkNonEmptyText('machine id', f.machineId, 64);
      if (f.diskSerial !== undefined) query.diskSerial = checkNonEmptyText('disk serial', f.diskSerial);
      return (await images.find(query, { sort: byNewest })).map((d) => toRecord<ImageRecord>(d));
    },

    async setProtected(id, value) {
      const flag = checkBoolean('protected', value);
      return ctx.lock.run(async () => save({ ...(await get(id)), protected: flag }));
    },

    async setMachine(id, machineId) {
      return ctx.lock.run(async () => {
        const r = await get(id);
        if (machineId === null) delete r.machineId;
        else r.machineId = await assertMachine(machineId);
        return save(r);
      });
    },

    async remove(id) {
      return ctx.lock.run(async () => {
        const r = await get(id);
        await images.remove({ _id: r.id });
        return r;
      });
    },

    async reconcile(wanted) {
      if (!Array.isArray(wanted)) throw userError(`reconcile needs a list of images, not ${describe(wanted)}`);
      const facts: ImageFacts[] = [];
      const skipped: ReconcileResult['skipped'] = [];
      for (const w of wanted as unknown[]) {
        try {
          facts.push(checkImageFacts(w));
        } catch (err) {
          if (!(err instanceof LifeboatError) || err.kind !== 'user') throw err;
          const id = typeof (w as { id?: unknown } | null)?.id === 'string' ? String((w as { id: string }).id).slice(0, 80) : describe(w);
          skipped.push({ id, error: err.message });
        }
      }
      return ctx.lock.run(async () => {
        const current = (await images.find({})).map((d) => toRecord<ImageRecord>(d));
        const plan = diffImages(current, facts);
        const byId = new Map(current.map((r) => [r.id, r]));
        for (const f of plan.add) {
          const { id, ...rest } = f;
          await images.insert({ _id: id, ...rest, protected: false });
        }
        const updated = new Set(plan.update.map((f) => f.id));
        for (const f of plan.update) {
          const old = byId.get(f.id);
          if (!old) throw bug(`reconcile: image ${f.id} vanished`);
          await save({ ...f, protected: old.protected, ...(old.machineId ? { machineId: old.machineId } : {}) }); // in the store: its location is the appliance
        }
        // An image the store holds whose record still names a destination (imported): the appliance now.
        for (const f of facts) {
          const old = byId.get(f.id);
          if (old?.location !== undefined && !updated.has(f.id)) {
            const { location: _gone, ...rest } = old;
            await save(rest);
            updated.add(f.id);
          }
        }
        // Images kept elsewhere (a client's disk, a share) are not in this store: never removed for that.
        const remove = plan.remove.filter((id) => byId.get(id)?.location === undefined);
        if (remove.length > 0) await images.remove({ _id: { $in: remove } }, true);
        return { added: plan.add.map((f) => f.id), updated: [...updated], removed: remove, skipped };
      });
    },
  };
}
