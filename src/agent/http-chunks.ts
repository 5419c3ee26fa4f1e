// The chunk store seen through the agent API: what a worker thread of the agent opens from
// an `agent` ref (chunk-store-ref.ts). Each thread makes its own keep-alive, pinned
// connections (agent-api.ts). A backup's stager asks `has` in batches (the questions of a
// thread's concurrent calls go in one request of at most MAX_HAS_BATCH digests) and PUTs
// the frames the store lacks; the appliance checks each (decode + SHA-256) before it keeps
// it. A PUT retried after a dropped connection first asks whether the store has the frame
// by now, so a resumed upload never sends again what arrived. A restore's reader GETs
// frames of the image being restored.
import { AGENT_PATHS, FRAME_SLACK, type HasAnswer, MAX_HAS_BATCH, type StageAnswer } from '../api/agent-wire.js';
import { userError } from '../errors.js';
import type { ChunkReader, FrameStager } from '../imaging/repo/chunk-store.js';
import { assertDigest } from '../imaging/repo/chunk-store.js';
import { MAX_CHUNK_SIZE } from '../imaging/repo/formats.js';
import { AgentApi, type AgentApiOptions } from './agent-api.js';

/** How a thread reaches the appliance's chunk store: plain data (crosses thread boundaries). */
export interface AgentStoreRef {
  kind: 'agent';
  url: string;
  token: string;
  fingerprint: string | null;
  /** agent-api.ts options (tests shorten the retries). */
  api?: AgentApiOptions;
}

const apis = new Map<string, AgentApi>();

/** This thread's client for `ref` (one per appliance and token). */
export function apiFor(ref: AgentStoreRef): AgentApi {
  const key = `${ref.url} ${ref.token} ${ref.fingerprint ?? ''}`;
  let api = apis.get(key);
  if (!api) {
    api = new AgentApi({ url: ref.url, token: ref.token, fingerprint: ref.fingerprint }, ref.api ?? {});
    apis.set(key, api);
  }
  return api;
}

/** Closes this thread's clients (their kept-alive connections). */
export function closeApis(): void {
  for (const api of apis.values()) api.close();
  apis.clear();
}

/** Asks `has` of many digests in requests of at most MAX_HAS_BATCH; the answer in order. `until`: the end of a retry window this question is part of. */
export async function askHas(api: AgentApi, digests: readonly string[], until?: number): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let start = 0; start < digests.length; start += MAX_HAS_BATCH) {
    const batch = digests.slice(start, start + MAX_HAS_BATCH);
    const answer = await api.json<HasAnswer>('POST', AGENT_PATHS.has, { digests: batch }, until === undefined ? {} : { until });
    const present = answer?.present;
    if (!Array.isArray(present) || present.length !== batch.length || present.some((p) => typeof p !== 'boolean')) {
      throw userError(`the appliance answered a question about ${batch.length} chunk(s) with ${JSON.stringify(answer)?.slice(0, 80)}: not an answer of this protocol; are the agent and the appliance the same version?`);
    }
    out.push(...present);
  }
  return out;
}

export function agentFrameStager(ref: AgentStoreRef): FrameStager {
  const api = apiFor(ref);
  let waiting: Array<{ digest: string; resolve: (v: boolean) => void; reject: (e: unknown) => void }> = [];
  const flush = () => {
    const batch = waiting;
    waiting = [];
    askHas(
      api,
      batch.map((w) => w.digest),
    ).then(
      (present) => batch.forEach((w, k) => w.resolve(present[k] as boolean)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  };
  return {
    has(digest) {
      assertDigest(digest);
      return new Promise<boolean>((resolve, reject) => {
        if (waiting.length === 0) setImmediate(flush);
        waiting.push({ digest, resolve, reject });
      });
    },
    async stage(digest, frame, rawSize) {
      assertDigest(digest);
      const path = `${AGENT_PATHS.chunks}/${digest}?raw=${rawSize}`;
      const answer = await api.send('PUT', path, frame, 'application/octet-stream', {
        // Resumed after a dropped connection: what arrived before is not sent again (the
        // question is part of this upload's retry window, not a window of its own).
        beforeRetry: async (until) => ((await askHas(api, [digest], until))[0] ? { status: 200, body: Buffer.from('{"stored":false}') } : null),
      });
      let stored: unknown;
      try {
        stored = (JSON.parse(answer.body.toString('utf8')) as StageAnswer).stored;
      } catch {
        stored = undefined;
      }
      if (typeof stored !== 'boolean') throw userError(`the appliance answered the upload of chunk ${digest} with ${JSON.stringify(answer.body.toString('utf8', 0, 80))}: not an answer of this protocol`);
      return stored;
    },
  };
}

export function agentChunkReader(ref: AgentStoreRef): ChunkReader {
  const api = apiFor(ref);
  return {
    async getFrame(digest, into) {
      assertDigest(digest);
      const limit = into ? into.length : MAX_CHUNK_SIZE + FRAME_SLACK;
      const { body } = await api.send('GET', `${AGENT_PATHS.chunks}/${digest}`, null, 'application/octet-stream', { limit });
      if (!into) return body;
      body.copy(into);
      return into.subarray(0, body.length);
    },
  };
}
