// A twin of the appliance's agent API for the agent's fast tests: a real HTTP server over a
// real image store (directory chunk store, sessions that check every frame, drafts,
// certified manifests), one job at a time, with faults on demand (drop a connection, answer
// 503, cancel). It is not the daemon: test/agent-daemon.integration.test.ts runs the agent
// against the real one.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AGENT_PATHS, AGENT_PREFIX, type AgentJobSpec, type EndBody, type FinishBody, type ProgressBody } from '../../src/api/agent-wire.js';
import { httpStatusFor } from '../../src/errors.js';
import { backupManifest } from '../../src/imaging/backup-manifest.js';
import type { ChunkSession } from '../../src/imaging/repo/chunk-store.js';
import { fingerprintKey, newFingerprintSalt } from '../../src/imaging/repo/fingerprint.js';
import type { ImageStore } from '../../src/imaging/repo/image-store.js';
import { decodeIndex } from '../../src/imaging/repo/index-file.js';
import { type Manifest, makeImageId, signManifest } from '../../src/imaging/repo/manifest.js';
import { certifyImage } from '../../src/imaging/restore.js';

export interface Fault {
  /** Which requests it hits (method + ' ' + path after /agent/v1/, e.g. 'PUT job/chunks'). */
  match: string;
  /** How many matching requests pass before it strikes, and how often it strikes. */
  after: number;
  times: number;
  /** drop: the connection is cut before the request is handled; lost: handled, then cut instead of answered. */
  kind: 'drop' | 'lost' | '503' | 'cancel' | 'garbage';
  /** Paths it struck. */
  struck?: string[];
}

export interface TwinJob {
  token: string;
  machine: string;
  spec: AgentJobSpec;
}

export class AgentTwin {
  server: Server;
  port = 0;
  job: TwinJob | null = null;
  faults: Fault[] = [];
  /** Every request: method, path (after the prefix), body size. */
  seen: Array<{ method: string; path: string; bytes: number; at: number }> = [];
  progress: ProgressBody[] = [];
  ends: EndBody[] = [];
  finished: Manifest[] = [];
  connections = 0;
  private session: ChunkSession | null = null;
  private imageId = '';
  private salt = '';
  private parent: Manifest | null = null;
  private files = new Map<string, Buffer>();
  private ended = false;

  constructor(readonly store: ImageStore) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(httpStatusFor(err)).end(JSON.stringify({ error: err.message }));
      });
    });
    this.server.on('connection', () => this.connections++);
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  offer(job: TwinJob): void {
    this.job = job;
    this.ended = false;
    this.files.clear();
  }

  async close(): Promise<void> {
    await this.session?.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const body = Buffer.concat(parts);
    const u = new URL(req.url ?? '/', 'http://twin');
    const path = u.pathname.slice(AGENT_PREFIX.length + 1);
    const method = req.method ?? 'GET';
    this.seen.push({ method, path, bytes: body.length, at: Date.now() });
    let lose = false;
    const json = (status: number, value: unknown) => (lose ? req.socket.destroy() : res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value)));
    const bytes = (b: Buffer) => (lose ? req.socket.destroy() : res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(b));
    for (const f of this.faults) {
      if (`${method} ${path}`.startsWith(f.match) && f.after-- <= 0 && f.times > 0) {
        f.times--;
        (f.struck ??= []).push(path);
        if (f.kind === 'lost') {
          lose = true;
          break;
        }
        if (f.kind === 'drop') return void req.socket.destroy();
        if (f.kind === 'garbage') return bytes(randomBytes(4096));
        if (f.kind === '503') return json(503, { error: 'the twin is busy' });
        return json(409, { error: 'cancelled by the operator', cancelled: true });
      }
    }
    const job = this.job;
    if (!job || req.headers.authorization !== `Bearer ${job.token}` || (this.ended && path !== 'hello')) return json(401, { error: 'unknown or ended token' });
    const spec = job.spec;
    if (path === AGENT_PATHS.hello) return json(200, { machine: job.machine, job: this.ended ? null : spec });
    if (path === AGENT_PATHS.start) {
      if (spec.type === 'backup') {
        this.imageId = makeImageId(new Date());
        this.session = await this.store.chunks.beginSession(this.imageId);
        const images = (await this.store.listImages()).images.filter((m) => m.label === job.machine);
        this.parent = images.at(-1) ?? null;
        this.salt = this.parent?.fingerprints?.salt ?? newFingerprintSalt();
        const parent = this.parent ? { id: this.parent.id, chunkCount: this.parent.chunkCount, hasFingerprints: Boolean(this.parent.fingerprints) } : null;
        return json(200, { type: 'backup', imageId: this.imageId, chunkSize: this.store.config.chunkSize, parent, fingerprintSalt: this.salt, fingerprintKey: fingerprintKey(this.store.key, this.salt).toString('hex') });
      }
      const { manifest } = await certifyImage(this.store, spec.imageId);
      const index = await this.store.readIndex(manifest);
      const raw = await readFile(`${this.store.imageDir(manifest.id)}/index`);
      return json(200, { type: 'restore', manifest, index: raw.toString('base64'), minTargetBytes: index.diskSize });
    }
    if (path === AGENT_PATHS.parentIndex && this.parent) return bytes(await readFile(`${this.store.imageDir(this.parent.id)}/index`));
    if (path === AGENT_PATHS.parentFingerprints && this.parent) return bytes(await readFile(`${this.store.imageDir(this.parent.id)}/fingerprints`));
    if (path === AGENT_PATHS.has && this.session) {
      const { digests } = JSON.parse(body.toString()) as { digests: string[] };
      return json(200, { present: await Promise.all(digests.map((d) => (this.session as ChunkSession).has(d))) });
    }
    if (path.startsWith(`${AGENT_PATHS.chunks}/`)) {
      const digest = path.slice(AGENT_PATHS.chunks.length + 1);
      if (method === 'GET') return bytes(await this.store.chunks.getFrame(digest));
      if (!this.session) return json(409, { error: 'no backup running' });
      try {
        return json(200, { stored: await this.session.stage(digest, body, Number(u.searchParams.get('raw'))) });
      } catch (err) {
        return json(422, { error: (err as Error).message });
      }
    }
    if ((path === AGENT_PATHS.index || path === AGENT_PATHS.fingerprints) && method === 'PUT') {
      this.files.set(path, body);
      return json(200, {});
    }
    if (path === AGENT_PATHS.progress) {
      this.progress.push(JSON.parse(body.toString()) as ProgressBody);
      return json(200, {});
    }
    if (path === AGENT_PATHS.finish && this.session) return json(200, await this.finish(JSON.parse(body.toString()) as FinishBody, job));
    if (path === AGENT_PATHS.end) {
      this.ends.push(JSON.parse(body.toString()) as EndBody);
      this.ended = true;
      await this.session?.close();
      this.session = null;
      return json(200, {});
    }
    return json(404, { error: `no ${method} ${path}` });
  }

  private async finish(f: FinishBody, job: TwinJob) {
    const session = this.session as ChunkSession;
    const index = this.files.get(AGENT_PATHS.index) as Buffer;
    const prints = this.files.get(AGENT_PATHS.fingerprints) as Buffer;
    const decoded = decodeIndex(index);
    const draft = await this.store.draftImage(this.imageId);
    await draft.writeFile('index', index);
    await draft.writeFile('fingerprints', prints);
    const fresh = await session.publish();
    const source = { path: `/dev/${f.source.name}`, kind: 'block' as const, size: f.source.size, logicalSectorSize: f.source.logicalSectorSize, physicalSectorSize: f.source.physicalSectorSize, ...(f.source.serial ? { serial: f.source.serial } : {}) };
    const unsigned = backupManifest({ id: this.imageId, label: job.machine, host: job.machine, startedAt: Date.parse(f.startedAt), finishedAt: Date.now(), source, imageBytes: f.imageBytes, chunkSize: decoded.chunkSize, chunkCount: decoded.chunkCount, parentId: this.parent?.id ?? null, indexBytes: index, fingerprintsBytes: prints, fingerprintSalt: this.salt, contentSha256: f.contentSha256, stats: f.stats as unknown as Manifest['stats'], layout: f.layout, passphrase: null });
    const manifest = signManifest(unsigned, this.store.key);
    await draft.writeFile('manifest.json', JSON.stringify(manifest));
    await draft.commit();
    await certifyImage(this.store, this.imageId); // every chunk present, or the finish fails
    this.finished.push(manifest);
    this.ended = true;
    await session.close();
    this.session = null;
    return { imageId: this.imageId, chunkCount: decoded.chunkCount, chunksNew: fresh };
  }
}
