// The management store's records and the engine's reports as the API's wire types, field
// by field. What a client sees is chosen here: a field added to a record stays inside the
// daemon until it is added to the wire type and copied below; a field that changes type
// fails to compile here instead of changing the API under its clients. Pure.
import type * as wire from '../api/wire.js';
import type { GcReport } from '../imaging/repo/gc.js';
import type { AuditEvent, Disk, ImageRecord, Job, Machine, Medium, Schedule } from '../db/index.js';
import type { PruneReport, ScheduleRunResult } from './schedule-actions.js';

/** The object without its undefined fields (JSON leaves them out anyway; tests compare objects). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function machineToWire(m: Machine): wire.Machine {
  return defined({
    id: m.id,
    name: m.name,
    macs: [...m.macs],
    status: m.status,
    bootLoader: m.bootLoader,
    localBoot: m.localBoot,
    fixedAddress: m.fixedAddress,
    bootStage: m.bootStage ? { ...m.bootStage } : undefined,
    systemUuid: m.systemUuid,
    vendor: m.vendor,
    model: m.model,
    serial: m.serial,
    inventory: m.inventory,
    group: m.group,
    notes: m.notes,
    passphraseFile: m.passphraseFile,
    lastSeen: m.lastSeen,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  });
}

export function diskToWire(d: Disk): wire.Disk {
  return defined({
    id: d.id,
    machineId: d.machineId,
    devicePath: d.devicePath,
    model: d.model,
    serial: d.serial,
    size: d.size,
    logicalSectorSize: d.logicalSectorSize,
    physicalSectorSize: d.physicalSectorSize,
    partitions: { table: d.partitions.table, entries: d.partitions.entries.map((e) => defined({ number: e.number, start: e.start, size: e.size, type: e.type, filesystem: e.filesystem, label: e.label })) },
    lastSeen: d.lastSeen,
    createdAt: d.createdAt,
  });
}

export function imageToWire(i: ImageRecord): wire.ImageRecord {
  return defined({
    id: i.id,
    label: i.label,
    host: i.host,
    createdAt: i.createdAt,
    completedAt: i.completedAt,
    diskSize: i.diskSize,
    minTargetBytes: i.minTargetBytes,
    chunkSize: i.chunkSize,
    chunkCount: i.chunkCount,
    bytesNew: i.bytesNew,
    storedBytesNew: i.storedBytesNew,
    parent: i.parent,
    sourcePath: i.sourcePath,
    sourceKind: i.sourceKind,
    diskModel: i.diskModel,
    diskSerial: i.diskSerial,
    hasPassphrase: i.hasPassphrase,
    machineId: i.machineId,
    protected: i.protected,
    location: i.location,
  });
}

export function jobToWire(j: Job): wire.Job {
  return defined({
    id: j.id,
    type: j.type,
    state: j.state,
    machineId: j.machineId,
    diskSerial: j.diskSerial,
    devicePath: j.devicePath,
    imageId: j.imageId,
    scheduleId: j.scheduleId,
    label: j.label,
    options: j.options ? { ...j.options } : undefined,
    agentDisk: j.agentDisk ? { ...j.agentDisk } : undefined,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    error: j.error,
    outcome: j.outcome,
    targetIncomplete: j.targetIncomplete,
    stats: j.stats ? { ...j.stats } : undefined,
    progress: j.progress ? { bytesDone: j.progress.bytesDone, bytesTotal: j.progress.bytesTotal, at: j.progress.at } : undefined,
    requestedBy: j.requestedBy,
    history: j.history?.map((h) => ({ state: h.state, at: h.at })),
    log: j.log?.map((l) => ({ at: l.at, level: l.level, message: l.message })),
    logDropped: j.logDropped,
  });
}

export function scheduleToWire(s: Schedule): wire.Schedule {
  const target: wire.ScheduleTarget = 'machines' in s.target ? { machines: [...s.target.machines] } : 'group' in s.target ? { group: s.target.group } : { devices: [...s.target.devices] };
  const r = s.retention;
  return defined({
    id: s.id,
    name: s.name,
    target,
    calendar: s.calendar,
    retention: defined({ keepLast: r.keepLast, daily: r.daily, weekly: r.weekly, monthly: r.monthly }),
    enabled: s.enabled,
    passphraseFile: s.passphraseFile,
    destination: s.destination ? { ...s.destination } : undefined,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    lastRunAt: s.lastRunAt,
  });
}

export function auditToWire(e: AuditEvent): wire.AuditEvent {
  return { id: e.id, seq: e.seq, at: e.at, actor: e.actor, action: e.action, subject: e.subject, details: e.details };
}

export function scheduleRunToWire(r: ScheduleRunResult): wire.ScheduleRunResult {
  return { schedule: r.schedule, jobs: r.jobs.map(jobToWire), refused: r.refused.map((x) => ({ target: x.target, error: x.error })) };
}

function gcToWire(g: GcReport | { skipped: string }): wire.PruneReport['gc'] {
  if ('skipped' in g) return { skipped: g.skipped };
  return { images: g.images, chunksKept: g.chunksKept, chunksRemoved: g.chunksRemoved, bytesRemoved: g.bytesRemoved, tempFilesRemoved: g.tempFilesRemoved, dryRun: g.dryRun };
}

export function pruneToWire(p: PruneReport): wire.PruneReport {
  return {
    schedule: p.schedule,
    removed: [...p.removed],
    kept: [...p.kept],
    protectedKept: [...p.protectedKept],
    decisions: p.decisions.map((d) => ({ id: d.id, source: d.source, completedAt: d.completedAt, action: d.action, reasons: [...d.reasons] })),
    dryRun: p.dryRun,
    gc: gcToWire(p.gc),
    ...(p.destination ? { destination: { ...p.destination } } : {}),
  };
}

/** A boot medium as operators see it: never its token digest. */
export function mediumToWire(m: Medium, machineName: string | undefined): wire.BootMedium {
  return defined({
    id: m.id,
    scope: m.scope,
    machineId: m.machineId,
    machine: machineName,
    server: m.server,
    createdAt: m.createdAt,
    createdBy: m.createdBy,
    revokedAt: m.revokedAt,
    lastUsedAt: m.lastUsedAt,
  });
}
