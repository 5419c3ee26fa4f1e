// An in-memory twin of the operator API for the console's component tests: lists you
// set, live events you emit, a daemon you can take down and bring back, and a record of
// every call that changes something.
import { DaemonUnreachable } from '../../src/api/client.js';
import type { ApplianceStatus, ImageRecord, Job, JobView, LiveEvent, LocalDevice, Machine, MachinePatchBody, MachineWithDisks, NewJobBody, NewMachineBody, ScheduleView } from '../../src/api/contract.js';
import type { TuiClient } from '../../src/tui/client.js';

export class TwinClient implements TuiClient {
  machinesList: MachineWithDisks[] = [];
  imagesList: ImageRecord[] = [];
  jobsList: JobView[] = [];
  schedulesList: ScheduleView[] = [];
  applianceStatus: ApplianceStatus | null = null;
  devicesList: LocalDevice[] = [];
  /** Mutating calls, in order: ['createJob', body], ['cancelJob', id]… */
  calls: Array<[string, unknown]> = [];
  up = true;
  private listeners = new Set<{ onEvent: (e: LiveEvent) => void; fail: (err: Error) => void }>();
  private seq = 0;

  private async answer<T>(value: () => T): Promise<T> {
    await Promise.resolve();
    if (!this.up) throw new DaemonUnreachable('the lifeboat daemon is not reachable at twin.sock (ECONNREFUSED)', 'down');
    return value();
  }

  /** The daemon goes away: open event streams fail, every call fails until up(). */
  down(): void {
    this.up = false;
    for (const l of this.listeners) l.fail(new DaemonUnreachable('the daemon closed the event stream', 'down'));
    this.listeners.clear();
  }

  emit(event: LiveEvent): void {
    for (const l of this.listeners) l.onEvent(event);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  machines = () => this.answer(() => this.machinesList.map(({ disks: _d, ...m }) => m as Machine));
  machine = (name: string) =>
    this.answer(() => {
      const m = this.machinesList.find((x) => x.name === name);
      if (!m) throw new Error(`machine ${name} not found`);
      return m;
    });
  editMachine = (name: string, patch: MachinePatchBody = {}) =>
    this.answer(() => {
      this.calls.push(['editMachine', { name, ...patch }]);
      const m = this.machinesList.find((x) => x.name === name) as Machine;
      const { status, ...rest } = patch;
      if (status === null) delete m.status;
      else if (status) m.status = status;
      Object.assign(m, rest);
      return m;
    });
  /** Refuses a MAC that is not six hex pairs, as the daemon does, with the daemon's kind of message. */
  addMachine = (body: NewMachineBody) =>
    this.answer(() => {
      this.calls.push(['addMachine', body]);
      const bad = body.macs.find((m) => !/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(m));
      if (bad) throw new Error(`MAC address ${bad} is not six hex pairs`);
      const m = { id: `m${this.machinesList.length + 1}`, ...body, createdAt: '2026-12-03T10:00:00Z', updatedAt: '2026-12-03T10:00:00Z', disks: [] } as unknown as (typeof this.machinesList)[number];
      this.machinesList.push(m);
      return m as unknown as Machine;
    });
  wakeMachine = (name: string) => this.answer(() => (this.calls.push(['wakeMachine', name]), { machine: name, macs: this.machinesList.find((m) => m.name === name)?.macs ?? [] }));
  removeMachine = (name: string) => this.answer(() => (this.calls.push(['removeMachine', name]), this.machinesList.find((m) => m.name === name) as Machine));
  images = () => this.answer(() => this.imagesList);
  removeImage = (id: string) => this.answer(() => (this.calls.push(['removeImage', id]), { removed: id }));
  jobs = () => this.answer(() => this.jobsList);
  createJob = (body: NewJobBody) =>
    this.answer(() => {
      this.calls.push(['createJob', body]);
      const now = new Date().toISOString();
      const job: Job = { id: `job${++this.seq}`, type: body.type, state: 'queued', createdAt: now, updatedAt: now, requestedBy: 'twin', ...('device' in body && body.device ? { devicePath: body.device } : {}), ...('image' in body ? { imageId: body.image } : {}) };
      this.jobsList = [job, ...this.jobsList];
      return job;
    });
  cancelJob = (id: string) => this.answer(() => (this.calls.push(['cancelJob', id]), this.jobsList.find((j) => j.id === id) as Job));
  schedules = () => this.answer(() => this.schedulesList);
  removeSchedule = (name: string) => this.answer(() => (this.calls.push(['removeSchedule', name]), this.schedulesList.find((s) => s.name === name) as ScheduleView));
  appliance = () =>
    this.answer(() => {
      if (!this.applianceStatus) throw new Error('the daemon answered 404');
      return this.applianceStatus;
    });
  devices = () => this.answer(() => this.devicesList);
  events = (onEvent: (e: LiveEvent) => void, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (!this.up) return reject(new DaemonUnreachable('the lifeboat daemon is not reachable at twin.sock (ECONNREFUSED)', 'down'));
      const l = { onEvent, fail: reject };
      this.listeners.add(l);
      signal?.addEventListener('abort', () => (this.listeners.delete(l), resolve()), { once: true });
    });
}

const T0 = '2026-11-25T10:00:00.000Z';

export function machine(name: string, id: string, disks: Array<{ path: string; serial: string; size: number; model?: string }> = []): MachineWithDisks {
  return {
    id,
    name,
    macs: ['52:54:00:00:00:01'],
    vendor: 'Dell',
    model: 'OptiPlex 7090',
    createdAt: T0,
    updatedAt: T0,
    disks: disks.map((d, i) => ({ id: `${id}-d${i}`, machineId: id, devicePath: d.path, serial: d.serial, model: d.model ?? 'Samsung SSD', size: d.size, logicalSectorSize: 512, physicalSectorSize: 4096, partitions: { table: 'gpt', entries: [{ number: 1, start: 2048, size: 512 << 20, filesystem: 'vfat', label: 'EFI' }] }, lastSeen: T0, createdAt: T0 })),
  };
}

export function image(id: string, over: Partial<ImageRecord> = {}): ImageRecord {
  return { id, label: null, host: 'appliance', createdAt: T0, completedAt: T0, diskSize: 1e9, chunkSize: 4 << 20, chunkCount: 239, bytesNew: 5e8, storedBytesNew: 2.5e8, parent: null, sourcePath: '/dev/sdb', sourceKind: 'block', hasPassphrase: false, protected: false, ...over };
}

export function device(path: string, sizeBytes: number, over: Partial<LocalDevice> = {}): LocalDevice {
  return { path, model: 'WD Blue', serial: `SER-${path.slice(-3)}`, sizeBytes, logicalSectorSize: 512, inUse: false, partitions: [], ...over };
}
