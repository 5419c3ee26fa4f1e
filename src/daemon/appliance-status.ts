// What the Appliance screen and the wall dashboard show: versions, services, network
// interfaces, and the store's usage and reduction (logical bytes protected ÷ bytes
// stored). Walking the chunk directory costs real I/O on a big store (millions of files),
// so its numbers are cached for a minute (or until an image comes or goes) and only one walk runs at a time, however many
// consoles and dashboards ask; the filesystem figures (statfs) are always current.
import { statfs } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import type { ApplianceStatus } from '../api/contract.js';
import type { ImageStore } from '../imaging/repo/image-store.js';
import type { ManagementStore } from '../db/index.js';
import type { DaemonConfig } from './config.js';
import type { JobRunner } from './job-runner.js';

const CHUNK_CACHE_MS = 60_000;

/** Interfaces other than loopback, with their MAC and addresses. Pure over os.networkInterfaces(). */
export function interfacesOf(ifaces: ReturnType<typeof networkInterfaces>): ApplianceStatus['interfaces'] {
  return Object.entries(ifaces)
    .filter(([, addrs]) => (addrs ?? []).every((a) => !a.internal))
    .map(([name, addrs]) => ({ name, mac: addrs?.[0]?.mac ?? '', addresses: (addrs ?? []).map((a) => `${a.address}/${a.cidr?.split('/')[1] ?? ''}`) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export class ApplianceStatusSource {
  private chunks: { at: number; key: string; value: { chunks: number; bytes: number } } | null = null;
  private walking: Promise<{ chunks: number; bytes: number }> | null = null;

  constructor(
    private readonly deps: { config: DaemonConfig; version: string; startedAt: number; db: ManagementStore; images: ImageStore; runner: JobRunner; bootServices?: () => ApplianceStatus['services']; agentApi?: () => NonNullable<ApplianceStatus['agentApi']> },
  ) {}

  async status(): Promise<ApplianceStatus> {
    const { config, images, db, runner } = this.deps;
    const records = await db.images.list();
    // A new or removed image walks again at once: the figures follow backups and pruning.
    const key = `${records.length}:${records[0]?.id ?? ''}`;
    if (!this.chunks || this.chunks.key !== key || Date.now() - this.chunks.at > CHUNK_CACHE_MS) {
      this.walking ??= images.chunkBytes().finally(() => (this.walking = null));
      this.chunks = { at: Date.now(), key, value: await this.walking };
    }
    const fs = await statfs(images.root);
    const logicalBytes = records.reduce((sum, r) => sum + r.diskSize, 0);
    const active = await db.jobs.active();
    return {
      version: this.deps.version,
      node: process.version,
      hostname: hostname(),
      uptimeSeconds: Math.round((Date.now() - this.deps.startedAt) / 1000),
      dataDir: config.dataDir,
      socket: config.socket,
      services: [
        { name: 'operator API', state: 'running', detail: config.socket },
        db.writeFailure() === null ? { name: 'database', state: 'running', detail: 'writable' } : { name: 'database', state: 'failed', detail: `read-only: ${db.writeFailure()}` },
        { name: 'job runner', state: 'running', detail: `${runner.active} running` },
        ...(this.deps.bootServices?.() ?? [{ name: 'boot services', state: 'off' as const, detail: 'not started' }]),
      ],
      interfaces: interfacesOf(networkInterfaces()),
      dhcpMode: config.boot.dhcp,
      store: {
        path: images.root,
        fsBytes: fs.blocks * fs.bsize,
        fsFreeBytes: fs.bavail * fs.bsize,
        images: records.length,
        chunks: this.chunks.value.chunks,
        storedBytes: this.chunks.value.bytes,
        logicalBytes,
        reduction: this.chunks.value.bytes > 0 ? logicalBytes / this.chunks.value.bytes : 0,
      },
      jobs: { active: active.length, running: runner.active },
      ...(this.deps.agentApi ? { agentApi: this.deps.agentApi() } : {}),
    };
  }
}
