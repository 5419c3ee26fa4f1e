// The thin HTTP layer of the agent API: the bearer token, bodies read with a size limit
// (refused as soon as they pass it, never buffered whole), JSON bodies checked against
// their schema, answers written. What each request means is decided elsewhere.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { issuesOf } from '../api/agent-schemas.js';

/** An answer of the agent API that is not a success: its status and body. */
export class AgentRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AgentRefusal';
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json), 'Cache-Control': 'no-store' });
  res.end(json);
}

export function sendBytes(res: ServerResponse, data: Buffer): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length, 'Cache-Control': 'no-store' });
  res.end(data);
}

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const m = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(req.headers.authorization ?? '');
  return m ? (m[1] as string) : null;
}

/**
 * The request's body, at most `limit` bytes: a larger one (by Content-Length, or as it
 * arrives) is refused with 413 and the rest of it is not read.
 */
export async function readBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && (!/^\d{1,15}$/.test(declared) || Number(declared) > limit)) throw new AgentRefusal(413, `${what} is at most ${limit} bytes; this one says it is ${declared.slice(0, 20)}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AgentRefusal(413, `${what} is at most ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** A JSON body checked against `schema`: 400 with what was wrong otherwise. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S, limit: number, what: string): Promise<z.output<S>> {
  const raw = await readBody(req, limit, what);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AgentRefusal(400, `${what} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AgentRefusal(400, `${what} does not match the contract`, { issues: issuesOf(parsed.error) });
  return parsed.data;
}
