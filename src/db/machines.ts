// Machines: the computers Lifeboat backs up, found by name (operators) or by MAC (the
// boot path). Names follow NAME_PATTERN and are unique; every MAC is stored as
// aa:bb:cc:dd:ee:ff and belongs to at most one machine; a machine has at least one MAC.
import { conflictError, notFoundError, userError } from '../errors.js';
import { type StoreContext, newId } from './context.js';
import { toRecord } from './table.js';
import { ACTIVE_STATES } from './job-state.js';
import {
  checkInteger,
  checkKeys,
  checkMac,
  checkMacs,
  checkName,
  checkNonEmptyText,
  checkObject,
  checkPassphrasePath,
  checkSystemUuid,
  checkHostAddress,
  checkText,
  checkTime,
  describe,
} from './validate.js';

/** Hardware as the agent reports it. Only these fields are kept. */
export interface MachineInventory {
  cpu?: { model?: string; cores?: number; threads?: number; arch?: string };
  memoryBytes?: number;
  firmware?: 'bios' | 'uefi';
  nics?: { name?: string; mac: string; driver?: string; speedMbps?: number }[];
  /** When the agent collected it. */
  collectedAt?: string;
}

/** Which network loader an x64 UEFI machine gets: the signed chain (Secure Boot), iPXE with the NIC's SNP driver, or iPXE with its own drivers. */
export type BootLoader = 'auto' | 'ipxe' | 'ipxe-full' | 'signed';
export const BOOT_LOADERS: readonly BootLoader[] = ['auto', 'ipxe', 'ipxe-full', 'signed'];
/** How a machine with nothing to do leaves the network boot. */
export type LocalBoot = 'exit' | 'sanboot';
/** How far a machine's last network boot got. */
export type BootStageName = 'dhcp' | 'loader' | 'script' | 'kernel' | 'agent';
export const BOOT_STAGES: readonly BootStageName[] = ['dhcp', 'loader', 'script', 'kernel', 'agent'];
export interface BootStage {
  stage: BootStageName;
  at: string;
  /** The file or script fetched, the address given. */
  detail?: string;
}
/** A machine found by discovery waits for the operator: approve it (the field goes) or ignore it. */
export type MachineStatus = 'discovered' | 'ignored';

export interface Machine {
  id: string;
  name: string;
  macs: string[];
  status?: MachineStatus;
  bootLoader?: BootLoader;
  localBoot?: LocalBoot;
  /** The IPv4 address the full DHCP server gives this machine's MACs, and nobody else. */
  fixedAddress?: string;
  bootStage?: BootStage;
  systemUuid?: string;
  vendor?: string;
  model?: string;
  serial?: string;
  inventory?: MachineInventory;
  group?: string;
  notes?: string;
  /** Its backups are protected by the passphrase on the first line of this file (the path only: the daemon reads it at run time). */
  passphraseFile?: string;
  lastSeen?: string;
  createdAt: string;
  updatedAt: string;
}

export type MachineDoc = Omit<Machine, 'id'> & { _id: string };

export interface NewMachine {
  name: string;
  macs: string[];
  status?: MachineStatus;
  bootLoader?: BootLoader;
  localBoot?: LocalBoot;
  fixedAddress?: string;
  systemUuid?: string;
  vendor?: string;
  model?: string;
  serial?: string;
  inventory?: MachineInventory;
  group?: string;
  notes?: string;
  passphraseFile?: string;
}

/** Fields to change; null clears an optional field. `macs` replaces the list; addMacs/removeMacs edit it. */
export interface MachinePatch {
  name?: string;
  macs?: string[];
  addMacs?: string[];
  removeMacs?: string[];
  systemUuid?: string | null;
  vendor?: string | null;
  model?: string | null;
  serial?: string | null;
  inventory?: MachineInventory | null;
  group?: string | null;
  notes?: string | null;
  passphraseFile?: string | null;
  lastSeen?: string;
  status?: MachineStatus | null;
  bootLoader?: BootLoader | null;
  localBoot?: LocalBoot | null;
  fixedAddress?: string | null;
  bootStage?: BootStage | null;
}

export interface Machines {
  add(input: NewMachine): Promise<Machine>;
  /** Throws not-found naming the machine. */
  getByName(name: string): Promise<Machine>;
  findByName(name: string): Promise<Machine | null>;
  getById(id: string): Promise<Machine>;
  findById(id: string): Promise<Machine | null>;
  /** Any MAC spelling parseMac accepts. Unknown MACs are normal on the boot path: null, not an error. */
  findByMac(mac: string): Promise<Machine | null>;
  getByMac(mac: string): Promise<Machine>;
  /** Sorted by name. */
  list(filter?: { group?: string }): Promise<Machine[]>;
  edit(name: string, patch: MachinePatch): Promise<Machine>;
  markSeen(id: string, at?: string): Promise<Machine>;
  /** The machine whose SMBIOS system UUID this is (any case), or null. */
  findBySystemUuid(uuid: string): Promise<Machine | null>;
  /** Every machine's fixed address (the DHCP server keeps them out of the range). */
  fixedAddresses(): Promise<string[]>;
  /** Records how far the machine's network boot got (and that it was seen then). */
  recordBootStage(id: string, stage: BootStage): Promise<Machine>;
  /** Removes the machine and its disks. Refused while it has an active job or a schedule names it. */
  remove(name: string): Promise<Machine>;
}

const PATCH_KEYS = ['name', 'macs', 'addMacs', 'removeMacs', 'systemUuid', 'vendor', 'model', 'serial', 'inventory', 'group', 'notes', 'passphraseFile', 'lastSeen', 'status', 'bootLoader', 'localBoot', 'fixedAddress', 'bootStage'] as const;
const NEW_KEYS = ['name', 'macs', 'systemUuid', 'vendor', 'model', 'serial', 'inventory', 'group', 'notes', 'passphraseFile', 'status', 'bootLoader', 'localBoot', 'fixedAddress'] as const;

function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw userError(`${field} must be one of ${allowed.join(', ')}, not ${describe(value)}`);
}

export function checkBootStage(value: unknown): BootStage {
  const v = checkObject('bootStage', value);
  checkKeys('bootStage', v, ['stage', 'at', 'detail']);
  const out: BootStage = { stage: checkOneOf('bootStage.stage', v.stage, BOOT_STAGES), at: checkTime('bootStage.at', v.at) };
  if (v.detail !== undefined) out.detail = checkText('bootStage.detail', v.detail, 256);
  return out;
}

export function checkInventory(value: unknown): MachineInventory {
  const v = checkObject('inventory', value);
  checkKeys('inventory', v, ['cpu', 'memoryBytes', 'firmware', 'nics', 'collectedAt']);
  const out: MachineInventory = {};
  if (v.cpu !== undefined) {
    const cpu = checkObject('inventory.cpu', v.cpu);
    checkKeys('inventory.cpu', cpu, ['model', 'cores', 'threads', 'arch']);
    out.cpu = {};
    if (cpu.model !== undefined) out.cpu.model = checkText('inventory.cpu.model', cpu.model);
    if (cpu.cores !== undefined) out.cpu.cores = checkInteger('inventory.cpu.cores', cpu.cores, 1, 65536);
    if (cpu.threads !== undefined) out.cpu.threads = checkInteger('inventory.cpu.threads', cpu.threads, 1, 65536);
    if (cpu.arch !== undefined) out.cpu.arch = checkText('inventory.cpu.arch', cpu.arch, 32);
  }
  if (v.memoryBytes !== undefined) out.memoryBytes = checkInteger('inventory.memoryBytes', v.memoryBytes);
  if (v.firmware !== undefined) {
    if (v.firmware !== 'bios' && v.firmware !== 'uefi') throw userError(`inventory.firmware must be "bios" or "uefi", not ${describe(v.firmware)}`);
    out.firmware = v.firmware;
  }
  if (v.nics !== undefined) {
    if (!Array.isArray(v.nics)) throw userError(`inventory.nics must be a list, not ${describe(v.nics)}`);
    out.nics = v.nics.map((item: unknown, i) => {
      const nic = checkObject(`inventory.nics[${i}]`, item);
      checkKeys(`inventory.nics[${i}]`, nic, ['name', 'mac', 'driver', 'speedMbps']);
      const kept: NonNullable<MachineInventory['nics']>[number] = { mac: checkMac(nic.mac) };
      if (nic.name !== undefined) kept.name = checkText(`inventory.nics[${i}].name`, nic.name, 64);
      if (nic.driver !== undefined) kept.driver = checkText(`inventory.nics[${i}].driver`, nic.driver, 64);
      if (nic.speedMbps !== undefined) kept.speedMbps = checkInteger(`inventory.nics[${i}].speedMbps`, nic.speedMbps, 0, 10_000_000);
      return kept;
    });
  }
  if (v.collectedAt !== undefined) out.collectedAt = checkTime('inventory.collectedAt', v.collectedAt);
  return out;
}

/** Optional fields shared by add and edit: value checked, null (edit only) clears. */
function applyOptional(doc: Partial<MachineDoc>, fields: Record<string, unknown>): void {
  const set = <K extends keyof MachineDoc>(key: K, value: unknown, check: (v: unknown) => MachineDoc[K]) => {
    if (value === undefined) return;
    if (value === null) delete doc[key];
    else doc[key] = check(value);
  };
  set('systemUuid', fields.systemUuid, checkSystemUuid);
  set('vendor', fields.vendor, (v) => checkText('vendor', v));
  set('model', fields.model, (v) => checkText('model', v));
  set('serial', fields.serial, (v) => checkText('serial', v));
  set('inventory', fields.inventory, checkInventory);
  set('group', fields.group, (v) => checkName('group', v));
  set('notes', fields.notes, (v) => checkText('notes', v, 4096, true));
  set('passphraseFile', fields.passphraseFile, checkPassphrasePath);
  set('status', fields.status, (v) => checkOneOf('status', v, ['discovered', 'ignored'] as const));
  set('bootLoader', fields.bootLoader, (v) => checkOneOf('boot loader', v, BOOT_LOADERS));
  set('localBoot', fields.localBoot, (v) => checkOneOf('local boot', v, ['exit', 'sanboot'] as const));
  set('fixedAddress', fields.fixedAddress, checkHostAddress);
  set('bootStage', fields.bootStage, checkBootStage);
}

export function machinesCollection(ctx: StoreContext): Machines {
  const { machines, disks, jobs, schedules } = ctx.tables;
  const record = (doc: MachineDoc | null) => (doc ? toRecord<Machine>(doc) : null);

  const findByName = async (name: string) => record(await machines.findOne({ name: checkName('machine', name) }));
  const getByName = async (name: string) => {
    const m = await findByName(name);
    if (!m) throw notFoundError(`no machine named "${name}": see \`lifeboat machines list\``);
    return m;
  };
  const findById = async (id: string) => record(await machines.findOne({ _id: checkNonEmptyText('machine id', id, 64) }));
  const getById = async (id: string) => {
    const m = await findById(id);
    if (!m) throw notFoundError(`no machine with id ${id}: it may have been removed; see \`lifeboat machines list\``);
    return m;
  };

  /** Refuses MACs another machine has, naming it. */
  const assertMacsFree = async (macs: string[], self: string | null) => {
    for (const mac of macs) {
      const holder = await machines.findOne({ macs: mac });
      if (holder && holder._id !== self) {
        throw conflictError(`MAC address ${mac} already belongs to machine "${holder.name}": remove it from ${holder.name} first (\`lifeboat machines edit ${holder.name}\`) or check the address`);
      }
    }
  };
  /** Refuses a fixed address another machine has, naming it. */
  const assertAddressFree = async (address: string | undefined, self: string | null) => {
    if (address === undefined) return;
    const holder = await machines.findOne({ fixedAddress: address });
    if (holder && holder._id !== self) {
      throw conflictError(`fixed address ${address} already belongs to machine "${holder.name}": choose another address, or take it from ${holder.name} first (\`lifeboat machines edit ${holder.name} --address none\`)`);
    }
  };
  const assertNameFree = async (name: string) => {
    const holder = await machines.findOne({ name });
    if (holder) throw conflictError(`a machine named "${name}" already exists (MAC ${holder.macs.join(', ')}): choose another name, or edit that machine`);
  };

  return {
    findByName,
    getByName,
    findById,
    getById,

    async add(input) {
      const fields = checkObject('machine', input);
      checkKeys('machine', fields, NEW_KEYS);
      const name = checkName('machine', fields.name);
      const macs = checkMacs(fields.macs, `machine ${name}`);
      if (macs.length === 0) throw userError(`machine ${name} needs at least one MAC address (the boot path finds machines by MAC)`);
      const at = ctx.now().toISOString();
      const doc: MachineDoc = { _id: newId(), name, macs, createdAt: at, updatedAt: at };
      applyOptional(doc, fields);
      return ctx.lock.run(async () => {
        await assertNameFree(name);
        await assertMacsFree(macs, null);
        await assertAddressFree(doc.fixedAddress, null);
        return toRecord<Machine>(await machines.insert(doc));
      });
    },

    async findByMac(mac) {
      return record(await machines.findOne({ macs: checkMac(mac) }));
    },

    async getByMac(mac) {
      const m = await record(await machines.findOne({ macs: checkMac(mac) }));
      if (!m) throw notFoundError(`no machine has MAC address ${checkMac(mac)}: add it with \`lifeboat machines add --name <name> --mac ${checkMac(mac)}\``);
      return m;
    },

    async list(filter = {}) {
      const query = filter.group === undefined ? {} : { group: checkName('group', filter.group) };
      return (await machines.find(query, { sort: { name: 1 } })).map((d) => toRecord<Machine>(d));
    },

    async edit(name, patch) {
      const fields = checkObject('machine change', patch);
      checkKeys('machine change', fields, PATCH_KEYS);
      return ctx.lock.run(async () => {
        const current = await getByName(name);
        const { id, ...rest } = current;
        const doc: MachineDoc = { _id: id, ...rest };
        if (fields.name !== undefined) {
          doc.name = checkName('machine', fields.name);
          if (doc.name !== current.name) await assertNameFree(doc.name);
        }
        let macs = fields.macs === undefined ? [...current.macs] : checkMacs(fields.macs, `machine ${current.name}`);
        if (fields.addMacs !== undefined) macs = [...new Set([...macs, ...checkMacs(fields.addMacs, `machine ${current.name}`)])];
        if (fields.removeMacs !== undefined) {
          const gone = checkMacs(fields.removeMacs, `machine ${current.name}`);
          const missing = gone.filter((m) => !macs.includes(m));
          if (missing.length > 0) throw notFoundError(`machine ${current.name} has no MAC address ${missing.join(', ')} (it has ${macs.join(', ')})`);
          macs = macs.filter((m) => !gone.includes(m));
        }
        if (macs.length === 0) throw userError(`machine ${current.name} would have no MAC address left: keep at least one (the boot path finds machines by MAC)`);
        await assertMacsFree(macs, id);
        doc.macs = macs;
        applyOptional(doc, fields);
        await assertAddressFree(doc.fixedAddress, id);
        if (fields.lastSeen !== undefined) doc.lastSeen = checkTime('lastSeen', fields.lastSeen);
        doc.updatedAt = ctx.now().toISOString();
        await machines.replace(doc);
        if (doc.name !== current.name) {
          // Schedules name machines by name: a rename carries over to them.
          for (const s of await schedules.find({ 'target.machines': current.name })) {
            if (!('machines' in s.target)) continue;
            const renamed = s.target.machines.map((n) => (n === current.name ? doc.name : n));
            await schedules.replace({ ...s, target: { machines: renamed }, updatedAt: doc.updatedAt });
          }
        }
        return toRecord<Machine>(doc);
      });
    },

    async markSeen(id, at) {
      const seen = at === undefined ? ctx.now().toISOString() : checkTime('lastSeen', at);
      return ctx.lock.run(async () => {
        const { id: _id, ...rest } = await getById(id);
        const doc: MachineDoc = { _id, ...rest, lastSeen: seen };
        await machines.replace(doc);
        return toRecord<Machine>(doc);
      });
    },

    async findBySystemUuid(uuid) {
      return record(await machines.findOne({ systemUuid: checkSystemUuid(uuid) }));
    },

    async fixedAddresses() {
      return (await machines.find({ fixedAddress: { $exists: true } })).map((d) => d.fixedAddress as string);
    },

    async recordBootStage(id, stage) {
      const checked = checkBootStage(stage);
      return ctx.lock.run(async () => {
        const { id: _id, ...rest } = await getById(id);
        const doc: MachineDoc = { _id, ...rest, bootStage: checked, lastSeen: checked.at };
        await machines.replace(doc);
        return toRecord<Machine>(doc);
      });
    },

    async remove(name) {
      return ctx.lock.run(async () => {
        const m = await getByName(name);
        const busy = await jobs.findOne({ machineId: m.id, state: { $in: [...ACTIVE_STATES] } });
        if (busy) throw conflictError(`machine ${m.name} has an active ${busy.type} job ${busy._id} (${busy.state}): wait for it or cancel it (\`lifeboat jobs cancel ${busy._id}\`), then remove the machine`);
        const named = await schedules.find({ 'target.machines': m.name });
        if (named.length > 0) {
          const list = named.map((s) => s.name).join(', ');
          throw conflictError(`machine ${m.name} is named by schedule(s) ${list}: take it out of them first (\`lifeboat schedule\`), then remove the machine`);
        }
        await disks.remove({ machineId: m.id }, true);
        await machines.remove({ _id: m.id });
        return m;
      });
    },
  };
}
