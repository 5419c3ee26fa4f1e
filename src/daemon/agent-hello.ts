// The agent's first word on the wire: `POST /agent/v1/hello` on the boot interface's HTTP
// server, with the one-job (or inventory) token from its kernel command line as a bearer
// token. The daemon checks the token, validates the body (it comes from a machine on the
// LAN: hostile until checked), records the machine's identity, hardware and disks (serials
// are how a disk is known across boots), marks its boot stage `agent`, and answers with
// what the token allows: the job's spec (agent-wire.ts), or none. The routes are in
// agent-api.ts.
import type { AgentJobSpec, HelloAnswer } from '../api/agent-wire.js';
import type { AgentHello } from '../api/agent-schemas.js';
import type { Job, ManagementStore } from '../db/index.js';
import type { TokenScope } from './agent-tokens.js';

/** What the agent is told to do for a job: the hello answer's spec. Pure. */
export function jobSpecOf(job: Job): AgentJobSpec | null {
  const disk = { serial: job.diskSerial ?? null, name: job.devicePath?.startsWith('/dev/') ? job.devicePath.slice(5) : null };
  const end = job.options?.end ?? 'reboot';
  if (job.type === 'backup') return { id: job.id, type: 'backup', disk, label: job.label ?? null, end, ...(job.options?.destination ? { destination: { ...job.options.destination } } : {}) };
  if (job.type === 'restore' && job.imageId) {
    // A disk holding partitions holds something worth keeping: unless the operator said otherwise, the agent checks every chunk before the first write there (only the agent sees the disk).
    return { id: job.id, type: 'restore', imageId: job.imageId, disk, verify: job.options?.verify === true, verifyFirst: job.options?.verifyFirst ?? 'if-partitioned', growLast: job.options?.growLast === true, end };
  }
  return null;
}

/** Records what a hello says about its machine; returns the answer for the token's scope. */
export async function acceptHello(db: ManagementStore, scope: TokenScope, hello: AgentHello, now = new Date()): Promise<{ machine: string; answer: HelloAnswer }> {
  const m = await db.machines.getById(scope.machineId);
  const sys = hello.inventory.smbios.system;
  const at = now.toISOString();
  await db.machines.edit(m.name, {
    ...(sys.uuid && !m.systemUuid ? { systemUuid: sys.uuid } : {}),
    ...(sys.manufacturer ? { vendor: sys.manufacturer } : {}),
    ...(sys.product ? { model: sys.product } : {}),
    ...(sys.serial ? { serial: sys.serial } : {}),
    inventory: {
      ...(hello.inventory.cpu.model ? { cpu: { model: hello.inventory.cpu.model, ...(hello.inventory.cpu.count > 0 ? { threads: hello.inventory.cpu.count } : {}) } } : {}),
      ...(hello.inventory.memoryBytes !== null ? { memoryBytes: hello.inventory.memoryBytes } : {}),
      nics: hello.inventory.nics.map((n) => ({ mac: n.mac, name: n.name, ...(n.driver ? { driver: n.driver } : {}) })),
      collectedAt: at,
    },
  });
  for (const d of hello.inventory.disks) {
    await db.disks.upsert(m.id, {
      devicePath: `/dev/${d.name}`,
      ...(d.model ? { model: d.model } : {}),
      ...(d.serial ? { serial: d.serial } : {}),
      size: d.sizeBytes,
      logicalSectorSize: d.logicalSectorSize,
      physicalSectorSize: d.physicalSectorSize,
      seenAt: at,
    });
  }
  await db.machines.recordBootStage(m.id, { stage: 'agent', at, detail: `agent ${hello.agent.version}, ${hello.inventory.disks.length} disk(s)` });
  const job = scope.kind === 'job' ? await db.jobs.find(scope.jobId) : null;
  return { machine: m.name, answer: { machine: m.name, job: job ? jobSpecOf(job) : null } };
}
