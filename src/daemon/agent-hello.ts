// The agent's first word on the wire: `POST /agent/v1/hello` on the boot interface's HTTP
// server, with the one-job (or inventory) token from its kernel command line as a bearer
// token. The daemon checks the token, validates the body (it comes from a machine on the
// LAN: hostile until checked), records the machine's identity, hardware and disks (serials
// are how a disk is known across boots), marks its boot stage `agent`, and answers with
// what the token allows: the job, or none. The rest of the agent's protocol (chunks,
// progress, the end of a job) comes with the agent issue.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { LifeboatError, httpStatusFor } from '../errors.js';
import type { ManagementStore } from '../db/index.js';
import type { AgentTokens, TokenScope } from './agent-tokens.js';
import type { EventHub } from './event-hub.js';
import { type MediumTokens, helloIdentity } from './medium-tokens.js';

export const HELLO_ROUTE = '/agent/v1/hello';
const MAX_HELLO = 1 << 20;

const text = (max: number) => z.string().max(max).nullable().optional();
export const AgentHello = z.object({
  agent: z.object({ version: z.string().max(64), node: z.string().max(64) }),
  inventory: z.object({
    smbios: z.object({ system: z.object({ uuid: text(64), manufacturer: text(256), product: text(256), serial: text(256) }).passthrough() }).passthrough(),
    disks: z
      .array(
        z.object({
          name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
          sizeBytes: z.number().int().nonnegative().max(2 ** 60),
          model: text(256),
          serial: text(256),
          logicalSectorSize: z.number().int().min(512).max(65536),
          physicalSectorSize: z.number().int().min(512).max(1 << 20),
        }).passthrough(),
      )
      .max(64),
    nics: z.array(z.object({ name: z.string().max(64), mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/), driver: text(64) }).passthrough()).max(64),
    cpu: z.object({ model: text(256), count: z.number().int().min(0).max(65536) }).passthrough(),
    memoryBytes: z.number().int().nonnegative().nullable(),
  }),
});
export type AgentHello = z.infer<typeof AgentHello>;

/** `token`: after a boot medium's hello, the one-job token for the job's routes. */
export type HelloAnswer = ({ job: null } | { job: { id: string; type: 'backup' | 'restore' } }) & { token?: string };

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json), 'Cache-Control': 'no-store' });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_HELLO) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
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
  return { machine: m.name, answer: scope.kind === 'job' ? { job: { id: scope.jobId, type: scope.jobType } } : { job: null } };
}

/** The agent routes, for the HTTP boot server's extraRoutes: true when the request was one of them. */
export function agentRoutes(o: { db: ManagementStore; tokens: AgentTokens; media?: MediumTokens; hub: EventHub; log: (level: 'info' | 'warning', msg: string, fields?: Record<string, unknown>) => void }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (!(req.url ?? '').startsWith('/agent/')) return false;
    if (req.url !== HELLO_ROUTE) return send(res, 404, { error: 'no such agent route' }), true;
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' }), true;
    const auth = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(req.headers.authorization ?? '');
    // A boot medium's token (database, hashed) is accepted here only: it reaches a job through this answer, never a job route.
    const presented = auth?.[1];
    const scope = presented ? (o.tokens.verify(presented) ?? (await o.media?.verify(presented)) ?? null) : null;
    if (!scope) {
      o.log('warning', 'agent hello refused: no valid token', { peer: req.socket.remoteAddress });
      return send(res, 401, { error: 'the token is unknown, expired or its job has ended: start the job again from the appliance' }), true;
    }
    const raw = await readBody(req);
    if (raw === null) return send(res, 413, { error: `a hello is at most ${MAX_HELLO} bytes` }), true;
    let parsed: ReturnType<typeof AgentHello.safeParse>;
    try {
      parsed = AgentHello.safeParse(JSON.parse(raw.toString('utf8')));
    } catch {
      return send(res, 400, { error: 'the hello is not JSON' }), true;
    }
    if (!parsed.success) return send(res, 400, { error: 'the hello does not match the contract', issues: parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.')}: ${i.message}`) }), true;
    let accepted: Awaited<ReturnType<typeof acceptHello>>;
    let granted: { scope: TokenScope; jobToken?: string } = { scope: scope as TokenScope };
    try {
      if ((scope.kind === 'medium' || scope.kind === 'registration') && o.media) granted = await o.media.forHello(scope, helloIdentity(parsed.data));
      accepted = await acceptHello(o.db, granted.scope, parsed.data);
    } catch (err) {
      if (err instanceof LifeboatError && err.kind !== 'bug') return send(res, httpStatusFor(err), { error: err.message }), true;
      throw err;
    }
    const { machine, answer } = accepted;
    o.hub.publish({ type: 'log', ...(granted.scope.kind === 'job' ? { jobId: granted.scope.jobId } : {}), level: 'info', message: `${machine}: the agent said hello (${parsed.data.inventory.disks.length} disk(s))`, at: new Date().toISOString() });
    o.log('info', 'agent hello', { machine, scope: scope.kind });
    send(res, 200, granted.jobToken ? { ...answer, token: granted.jobToken } : answer);
    return true;
  };
}
