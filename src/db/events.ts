// Events: the audit trail of who did what. Capped: only the newest `cap` events are
// kept; each insert beyond the cap removes the oldest. Every event has a sequence number
// one above the previous, so the kept events are always one run of numbers and trimming
// is a range delete on the seq index. `details` is kept as JSON text, so any keys a
// caller uses are fine (NeDB refuses field names with '.' or a leading '$').
import { userError } from '../errors.js';
import { type StoreContext, newId } from './context.js';
import { checkActor } from './jobs.js';
import { checkInteger, checkKeys, checkNonEmptyText, checkObject, checkText, checkTime } from './validate.js';

export interface AuditEvent {
  id: string;
  /** 1, 2, 3… in insertion order. */
  seq: number;
  at: string;
  /** 'timer' or an operator name. */
  actor: string;
  /** What was done, like "machine.add" or "job.cancel". */
  action: string;
  /** What it was done to, like "machine pc-01". */
  subject: string;
  details: Record<string, unknown>;
}

export interface EventDoc {
  _id: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  detailsJson: string;
}

export interface NewEvent {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
  /** Defaults to now. */
  at?: string;
}

export interface EventFilter {
  /** Default 100. */
  limit?: number;
  /** Only events with a smaller seq (paging back). */
  beforeSeq?: number;
  subject?: string;
  actor?: string;
  /** Only events at or after this time (ISO). */
  since?: string;
}

export interface Events {
  record(event: NewEvent): Promise<AuditEvent>;
  /** Newest first. */
  list(filter?: EventFilter): Promise<AuditEvent[]>;
  count(): Promise<number>;
  readonly cap: number;
}

export const DEFAULT_EVENTS_CAP = 10_000;
const MAX_DETAILS = 16 * 1024;

const toEvent = (d: EventDoc): AuditEvent => ({
  id: d._id,
  seq: d.seq,
  at: d.at,
  actor: d.actor,
  action: d.action,
  subject: d.subject,
  details: JSON.parse(d.detailsJson) as Record<string, unknown>,
});

/** Opens the events collection: reads the last seq and trims to `cap` (the cap may have been lowered). */
export async function eventsCollection(ctx: StoreContext, cap: number): Promise<Events> {
  const { events } = ctx.tables;
  checkInteger('events cap', cap, 1, 10_000_000);
  let lastSeq = (await events.find({}, { sort: { seq: -1 }, limit: 1 }))[0]?.seq ?? 0;
  let count = await events.count();

  const trim = async () => {
    if (count <= cap) return;
    count -= await events.remove({ seq: { $lte: lastSeq - cap } }, true);
  };
  await ctx.lock.run(trim);

  return {
    cap,

    async record(event) {
      const v = checkObject('event', event);
      checkKeys('event', v, ['actor', 'action', 'subject', 'details', 'at']);
      const details = v.details === undefined ? {} : checkObject('event details', v.details);
      let detailsJson: string;
      try {
        detailsJson = JSON.stringify(details);
      } catch (err) {
        throw userError(`event details are not JSON-serialisable: ${(err as Error).message}`);
      }
      if (detailsJson.length > MAX_DETAILS) throw userError(`event details are ${detailsJson.length} characters of JSON: keep them under ${MAX_DETAILS}`);
      const base = {
        actor: checkActor(v.actor),
        action: checkNonEmptyText('event action', v.action, 64),
        subject: checkText('event subject', v.subject, 256),
        at: v.at === undefined ? ctx.now().toISOString() : checkTime('event time', v.at),
        detailsJson,
      };
      return ctx.lock.run(async () => {
        const doc: EventDoc = { _id: newId(), seq: lastSeq + 1, ...base };
        await events.insert(doc);
        lastSeq = doc.seq;
        count++;
        await trim();
        return toEvent(doc);
      });
    },

    async list(filter = {}) {
      const f = checkObject('event filter', filter);
      checkKeys('event filter', f, ['limit', 'beforeSeq', 'subject', 'actor', 'since']);
      const query: Record<string, unknown> = {};
      if (f.beforeSeq !== undefined) query.seq = { $lt: checkInteger('beforeSeq', f.beforeSeq) };
      if (f.subject !== undefined) query.subject = checkText('subject', f.subject);
      if (f.actor !== undefined) query.actor = checkActor(f.actor);
      if (f.since !== undefined) query.at = { $gte: checkTime('since', f.since) };
      const limit = f.limit === undefined ? 100 : checkInteger('limit', f.limit, 1, 100_000);
      return (await events.find(query, { sort: { seq: -1 }, limit })).map(toEvent);
    },

    async count() {
      return events.count();
    },
  };
}
