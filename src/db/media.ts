// Boot media the daemon made: each carries a token in its initramfs, and the database keeps
// only the token's SHA-256 (hex) with what it may do — boot one machine (its hello gets that
// machine's waiting job, if any) or register a new machine (its hello creates the machine
// from its inventory). A medium outlives daemon restarts, is revoked by the operator (its
// token is refused from then on; the record stays, for the audit), and never expires by itself.
import { conflictError, notFoundError, userError } from '../errors.js';
import { type StoreContext, ID_PATTERN, newId } from './context.js';
import { toRecord } from './table.js';
import { checkKeys, checkNonEmptyText, checkObject, checkText, checkTime, describe } from './validate.js';

export type MediumScope = 'machine' | 'registration';

export interface Medium {
  id: string;
  scope: MediumScope;
  /** With scope machine: the machine it boots. */
  machineId?: string;
  /** SHA-256 of the token, hex. The token itself is only on the medium. */
  tokenDigest: string;
  /** The agent URL written on it. */
  server: string;
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export type MediumDoc = Omit<Medium, 'id'> & { _id: string };

export interface NewMedium {
  scope: MediumScope;
  machineId?: string;
  tokenDigest: string;
  server: string;
  createdBy: string;
}

export interface Media {
  add(input: NewMedium): Promise<Medium>;
  /** Newest first. */
  list(): Promise<Medium[]>;
  get(id: string): Promise<Medium>;
  /** The medium holding this token digest (revoked or not), or null. */
  findByDigest(digest: string): Promise<Medium | null>;
  /** Refuses its token from now on; revoking twice is a conflict naming when. */
  revoke(id: string): Promise<Medium>;
  markUsed(id: string, at?: string): Promise<Medium>;
}

const DIGEST = /^[0-9a-f]{64}$/;

function checkDigest(value: unknown): string {
  if (typeof value === 'string' && DIGEST.test(value)) return value;
  throw userError(`a medium's token digest is 64 hex digits (SHA-256), not ${describe(value)}`);
}

function checkId(value: unknown): string {
  if (typeof value === 'string' && ID_PATTERN.test(value)) return value;
  throw userError(`${JSON.stringify(value)?.slice(0, 40)} is not a boot medium id (12 hex digits): see \`lifeboat bootmedia list\``);
}

export function mediaCollection(ctx: StoreContext): Media {
  const { media, machines } = ctx.tables;
  const get = async (id: string) => {
    const doc = await media.findOne({ _id: checkId(id) });
    if (!doc) throw notFoundError(`no boot medium ${id}: see \`lifeboat bootmedia list\``);
    return toRecord<Medium>(doc);
  };
  return {
    get,
    async add(input) {
      const v = checkObject('boot medium', input);
      checkKeys('boot medium', v, ['scope', 'machineId', 'tokenDigest', 'server', 'createdBy']);
      if (v.scope !== 'machine' && v.scope !== 'registration') throw userError(`a boot medium's scope is machine or registration, not ${describe(v.scope)}`);
      if ((v.scope === 'machine') !== (v.machineId !== undefined)) throw userError('a machine medium names its machine; a registration medium names none');
      const doc: MediumDoc = {
        _id: newId(),
        scope: v.scope,
        ...(v.machineId !== undefined ? { machineId: checkNonEmptyText('machine id', v.machineId, 64) } : {}),
        tokenDigest: checkDigest(v.tokenDigest),
        server: checkNonEmptyText('server', v.server, 2048),
        createdAt: ctx.now().toISOString(),
        createdBy: checkText('created by', v.createdBy, 256),
      };
      return ctx.lock.run(async () => {
        if (doc.machineId !== undefined && !(await machines.findOne({ _id: doc.machineId }))) throw notFoundError(`no machine with id ${doc.machineId}: see \`lifeboat machines list\``);
        if (await media.findOne({ tokenDigest: doc.tokenDigest })) throw conflictError('that token is already on another medium');
        return toRecord<Medium>(await media.insert(doc));
      });
    },
    async list() {
      return (await media.find({}, { sort: { createdAt: -1 } })).map((d) => toRecord<Medium>(d));
    },
    async findByDigest(digest) {
      if (typeof digest !== 'string' || !DIGEST.test(digest)) return null;
      const doc = await media.findOne({ tokenDigest: digest });
      return doc ? toRecord<Medium>(doc) : null;
    },
    async revoke(id) {
      return ctx.lock.run(async () => {
        const m = await get(id);
        if (m.revokedAt) throw conflictError(`boot medium ${m.id} was already revoked at ${m.revokedAt}`);
        const { id: _id, ...rest } = m;
        const doc: MediumDoc = { _id, ...rest, revokedAt: ctx.now().toISOString() };
        await media.replace(doc);
        return toRecord<Medium>(doc);
      });
    },
    async markUsed(id, at) {
      const when = at === undefined ? ctx.now().toISOString() : checkTime('last used', at);
      return ctx.lock.run(async () => {
        const { id: _id, ...rest } = await get(id);
        const doc: MediumDoc = { _id, ...rest, lastUsedAt: when };
        await media.replace(doc);
        return toRecord<Medium>(doc);
      });
    },
  };
}
