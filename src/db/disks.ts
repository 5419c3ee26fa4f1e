// Disks of machines, as the agent reports them. One record per physical disk: found
// again by its serial when it has one (device paths move between boots), else by its
// device path. Records are kept when a disk goes missing (its images still name it);
// lastSeen says when it was last there.
import { notFoundError, userError } from '../errors.js';
import { type StoreContext, newId } from './context.js';
import { toRecord } from './table.js';
import { checkInteger, checkKeys, checkNonEmptyText, checkObject, checkSectorSize, checkText, checkTime, describe } from './validate.js';

export interface PartitionEntry {
  number: number;
  /** Bytes from the start of the disk. */
  start: number;
  size: number;
  /** GPT type GUID or MBR type byte as text (e.g. "0x83"). */
  type?: string;
  filesystem?: string;
  label?: string;
}

export interface PartitionSummary {
  table: 'gpt' | 'mbr' | 'none' | 'unknown';
  entries: PartitionEntry[];
}

export interface Disk {
  id: string;
  machineId: string;
  devicePath: string;
  model?: string;
  serial?: string;
  size: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  partitions: PartitionSummary;
  lastSeen: string;
  createdAt: string;
}

export type DiskDoc = Omit<Disk, 'id'> & { _id: string };

/** What an inventory reports about one disk. */
export interface DiskReport {
  devicePath: string;
  model?: string;
  serial?: string;
  size: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  partitions?: PartitionSummary;
  /** Defaults to now. */
  seenAt?: string;
}

export interface Disks {
  /** Updates the machine's record of this disk (matched by serial, else by device path) or adds one. */
  upsert(machineId: string, report: DiskReport): Promise<{ disk: Disk; created: boolean }>;
  get(id: string): Promise<Disk>;
  /** Sorted by device path. */
  listByMachine(machineId: string): Promise<Disk[]>;
  /** A disk of the machine by serial or device path (what `--disk <serial|path>` gives), or null. */
  find(machineId: string, serialOrPath: string): Promise<Disk | null>;
  remove(id: string): Promise<Disk>;
}

const REPORT_KEYS = ['devicePath', 'model', 'serial', 'size', 'logicalSectorSize', 'physicalSectorSize', 'partitions', 'seenAt'] as const;
const TABLES = ['gpt', 'mbr', 'none', 'unknown'] as const;

export function checkPartitions(value: unknown): PartitionSummary {
  const v = checkObject('partitions', value);
  checkKeys('partitions', v, ['table', 'entries']);
  if (!TABLES.includes(v.table as PartitionSummary['table'])) throw userError(`partitions.table must be one of ${TABLES.join(', ')}, not ${describe(v.table)}`);
  if (!Array.isArray(v.entries)) throw userError(`partitions.entries must be a list, not ${describe(v.entries)}`);
  if (v.entries.length > 256) throw userError(`partitions.entries has ${v.entries.length} entries: at most 256 are kept`);
  const entries = v.entries.map((item: unknown, i) => {
    const at = `partitions.entries[${i}]`;
    const e = checkObject(at, item);
    checkKeys(at, e, ['number', 'start', 'size', 'type', 'filesystem', 'label']);
    const out: PartitionEntry = { number: checkInteger(`${at}.number`, e.number, 1, 1024), start: checkInteger(`${at}.start`, e.start), size: checkInteger(`${at}.size`, e.size) };
    if (e.type !== undefined) out.type = checkText(`${at}.type`, e.type, 64);
    if (e.filesystem !== undefined) out.filesystem = checkText(`${at}.filesystem`, e.filesystem, 32);
    if (e.label !== undefined) out.label = checkText(`${at}.label`, e.label, 128);
    return out;
  });
  return { table: v.table as PartitionSummary['table'], entries };
}

export function checkDevicePath(value: unknown): string {
  const path = checkNonEmptyText('device path', value, 256);
  if (!path.startsWith('/')) throw userError(`device path ${JSON.stringify(path)} is not absolute: give it like /dev/sda`);
  return path;
}

function checkReport(value: unknown): Omit<DiskDoc, '_id' | 'machineId' | 'createdAt'> {
  const r = checkObject('disk report', value);
  checkKeys('disk report', r, REPORT_KEYS);
  const devicePath = checkDevicePath(r.devicePath);
  const logicalSectorSize = checkSectorSize(`disk ${devicePath} logical sector size`, r.logicalSectorSize);
  const physicalSectorSize = checkSectorSize(`disk ${devicePath} physical sector size`, r.physicalSectorSize);
  if (physicalSectorSize < logicalSectorSize) throw userError(`disk ${devicePath}: physical sector size ${physicalSectorSize} is smaller than the logical ${logicalSectorSize}`);
  const out: Omit<DiskDoc, '_id' | 'machineId' | 'createdAt'> = {
    devicePath,
    size: checkInteger(`disk ${devicePath} size`, r.size, 1),
    logicalSectorSize,
    physicalSectorSize,
    partitions: r.partitions === undefined ? { table: 'unknown', entries: [] } : checkPartitions(r.partitions),
    lastSeen: r.seenAt === undefined ? '' : checkTime('seenAt', r.seenAt),
  };
  if (r.model !== undefined) out.model = checkText(`disk ${devicePath} model`, r.model);
  if (r.serial !== undefined) out.serial = checkNonEmptyText(`disk ${devicePath} serial`, r.serial);
  return out;
}

export function disksCollection(ctx: StoreContext): Disks {
  const { disks, machines } = ctx.tables;

  const get = async (id: string) => {
    const doc = await disks.findOne({ _id: checkNonEmptyText('disk id', id, 64) });
    if (!doc) throw notFoundError(`no disk with id ${id}: see \`lifeboat machines show <name>\``);
    return toRecord<Disk>(doc);
  };

  return {
    get,

    async upsert(machineId, report) {
      const fields = checkReport(report);
      if (!fields.lastSeen) fields.lastSeen = ctx.now().toISOString();
      const mid = checkNonEmptyText('machine id', machineId, 64);
      return ctx.lock.run(async () => {
        if (!(await machines.findOne({ _id: mid }))) throw notFoundError(`no machine with id ${mid}: add the machine before its disks`);
        const mine = await disks.find({ machineId: mid }, { sort: { lastSeen: -1 } });
        const match = fields.serial
          ? (mine.find((d) => d.serial === fields.serial) ?? mine.find((d) => d.serial === undefined && d.devicePath === fields.devicePath))
          : mine.find((d) => d.devicePath === fields.devicePath);
        if (match) {
          // A report without a serial keeps the one we know (a tool that failed to read it does not erase it).
          const doc: DiskDoc = { ...fields, serial: fields.serial ?? match.serial, model: fields.model ?? match.model, _id: match._id, machineId: mid, createdAt: match.createdAt };
          await disks.replace(doc);
          return { disk: toRecord<Disk>(doc), created: false };
        }
        const doc: DiskDoc = { ...fields, _id: newId(), machineId: mid, createdAt: ctx.now().toISOString() };
        return { disk: toRecord<Disk>(await disks.insert(doc)), created: true };
      });
    },

    async listByMachine(machineId) {
      return (await disks.find({ machineId: checkNonEmptyText('machine id', machineId, 64) }, { sort: { devicePath: 1 } })).map((d) => toRecord<Disk>(d));
    },

    async find(machineId, serialOrPath) {
      const key = checkNonEmptyText('disk', serialOrPath);
      const mine = await disks.find({ machineId: checkNonEmptyText('machine id', machineId, 64) }, { sort: { lastSeen: -1 } });
      const doc = mine.find((d) => d.serial === key) ?? mine.find((d) => d.devicePath === key);
      return doc ? toRecord<Disk>(doc) : null;
    },

    async remove(id) {
      return ctx.lock.run(async () => {
        const disk = await get(id);
        await disks.remove({ _id: disk.id });
        return disk;
      });
    },
  };
}
