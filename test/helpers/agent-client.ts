// A test agent over plain HTTP (fetch): it speaks the agent wire (src/api/agent-wire.ts) to a
// real daemon's boot HTTP server, with real LZ4 frames (src/imaging/lz4-frame.ts) of real
// bytes, a real index file and the content digest the engine computes. It plays what the
// boot OS's agent will do, so the daemon side is tested without a VM; and it can misbehave.
import { createHash } from 'node:crypto';
import { AGENT_PATHS, AGENT_PREFIX, type DiskIdentity, type FinishBody } from '../../src/api/agent-wire.js';
import { encodeFrame } from '../../src/imaging/lz4-frame.js';
import { encodeFingerprints } from '../../src/imaging/repo/fingerprint.js';
import { NO_FINGERPRINT, ZERO_DIGEST } from '../../src/imaging/repo/formats.js';
import { encodeIndex } from '../../src/imaging/repo/index-file.js';

export interface Answer<T = unknown> {
  status: number;
  body: T;
}

/** The token of a machine's boot, from the iPXE script the daemon gives its MAC. */
export async function bootToken(base: string, mac: string): Promise<string | null> {
  const script = await (await fetch(`${base}/boot/ipxe?mac=${mac}&platform=pcbios`)).text();
  return /lifeboat\.token=([A-Za-z0-9_-]+)/.exec(script)?.[1] ?? null;
}

export class TestAgent {
  constructor(
    readonly base: string,
    public token: string,
  ) {}

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, opts: { raw?: boolean; token?: string } = {}): Promise<Answer<T>> {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) || body instanceof Uint8Array ? body : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(`${this.base}${AGENT_PREFIX}/${path}`, { method, headers: { authorization: `Bearer ${opts.token ?? this.token}`, ...(data !== undefined ? { 'content-type': 'application/octet-stream' } : {}) }, ...(data !== undefined ? { body: data } : {}) });
    const bytes = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: (opts.raw || !type.includes('json') ? bytes : JSON.parse(bytes.toString('utf8'))) as T };
  }

  hello(disks: DiskIdentity[]) {
    return this.request<{ machine: string; job: Record<string, unknown> | null; error?: string }>('POST', AGENT_PATHS.hello, helloBody(disks));
  }
}

export function helloBody(disks: DiskIdentity[]) {
  return {
    agent: { version: 'test', node: process.version },
    inventory: {
      smbios: { system: { uuid: '4c4c4544-0000-1000-8000-000000000001', manufacturer: 'QEMU', product: 'Standard PC', serial: 'VM-1' } },
      disks: disks.map((d) => ({ name: d.name, sizeBytes: d.sizeBytes, model: d.model, serial: d.serial, logicalSectorSize: d.logicalSectorSize, physicalSectorSize: d.physicalSectorSize })),
      nics: [{ name: 'eth0', mac: '52:54:00:12:34:56', driver: 'virtio_net' }],
      cpu: { model: 'QEMU Virtual CPU', count: 2 },
      memoryBytes: 512 * 1024 * 1024,
    },
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/** A disk's bytes cut into chunks, as the engine describes them: digests (zero chunks as the marker), frames, index, content digest. */
export function describeChunks(disk: Buffer, chunkSize: number) {
  const count = Math.ceil(disk.length / chunkSize);
  const chunks: Array<{ i: number; raw: Buffer; digest: string; frame: Buffer } | null> = [];
  const entries: Buffer[] = [];
  const content = createHash('sha256');
  for (let i = 0; i < count; i++) {
    const raw = disk.subarray(i * chunkSize, Math.min(disk.length, (i + 1) * chunkSize));
    const digest = sha256(raw);
    content.update(digest);
    if (raw.every((b) => b === 0)) {
      chunks.push(null);
      entries.push(ZERO_DIGEST);
      continue;
    }
    chunks.push({ i, raw, digest: digest.toString('hex'), frame: encodeFrame(raw) });
    entries.push(digest);
  }
  const index = encodeIndex({ chunkSize, diskSize: disk.length, chunkCount: count, digests: Buffer.concat(entries) });
  const fingerprints = encodeFingerprints(count, Buffer.concat(Array.from({ length: count }, () => NO_FINGERPRINT)));
  const data = chunks.filter((c): c is NonNullable<typeof c> => c !== null);
  return { count, chunks: data, distinct: [...new Map(data.map((c) => [c.digest, c])).values()], index, fingerprints, contentSha256: content.digest('hex') };
}

export function finishBody(disk: DiskIdentity, contentSha256: string, over: Partial<FinishBody> = {}): FinishBody {
  return {
    source: { kind: 'block', size: disk.sizeBytes, logicalSectorSize: disk.logicalSectorSize, physicalSectorSize: disk.physicalSectorSize, model: disk.model, serial: disk.serial, name: disk.name },
    imageBytes: disk.sizeBytes,
    contentSha256,
    stats: { bytesRead: disk.sizeBytes, bytesZero: 0, bytesReused: 0, chunksZero: 0, chunksUnused: 0, chunksReused: 0 },
    layout: null,
    startedAt: new Date(Date.now() - 1000).toISOString(),
    ...over,
  };
}

/** A whole backup as a well-behaved agent makes it: start, ask what the store has, upload the rest, index, fingerprints, progress, finish. */
export async function backupOverWire(agent: TestAgent, disk: DiskIdentity, bytes: Buffer) {
  const start = await agent.request<{ type: string; imageId: string; chunkSize: number; parent: { id: string } | null; fingerprintKey: string; fingerprintSalt: string }>('POST', AGENT_PATHS.start, { disk });
  if (start.status !== 200) throw new Error(`start: ${start.status} ${JSON.stringify(start.body)}`);
  const d = describeChunks(bytes, start.body.chunkSize);
  const has = await agent.request<{ present: boolean[] }>('POST', AGENT_PATHS.has, { digests: d.distinct.map((c) => c.digest) });
  if (has.status !== 200) throw new Error(`has: ${has.status} ${JSON.stringify(has.body)}`);
  const missing = d.distinct.filter((_c, k) => !has.body.present[k]);
  const stored = await Promise.all(missing.map((c) => agent.request<{ stored: boolean }>('PUT', `${AGENT_PATHS.chunks}/${c.digest}?raw=${c.raw.length}`, c.frame)));
  for (const s of stored) if (s.status !== 200) throw new Error(`chunk: ${s.status} ${JSON.stringify(s.body)}`);
  for (const [path, body] of [[AGENT_PATHS.index, d.index], [AGENT_PATHS.fingerprints, d.fingerprints]] as const) {
    const r = await agent.request('PUT', path, body);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const progress = await agent.request('POST', AGENT_PATHS.progress, { bytesDone: bytes.length, bytesTotal: bytes.length, bytesNew: 0, bytesReused: 0, bytesZero: 0, storedBytes: 0, chunksDone: d.count, chunksTotal: d.count });
  if (progress.status !== 200) throw new Error(`progress: ${progress.status} ${JSON.stringify(progress.body)}`);
  const finish = await agent.request<{ imageId: string; chunkCount: number; chunksNew: number; error?: string }>('POST', AGENT_PATHS.finish, finishBody(disk, d.contentSha256));
  return { start: start.body, present: has.body.present, sent: missing.length, finish, described: d };
}
