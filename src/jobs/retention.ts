// Which images a retention policy keeps: the classic keep-last / daily / weekly / monthly
// policy, as restic's `forget` and Proxmox Backup Server's `compute_prune_info` decide it.
// A pure function of the image records; the schedule runner deletes what it says to remove.
import { bug, usageError } from '../errors.js';

export interface RetentionPolicy {
  /** Keep the newest N images. */
  keepLast?: number;
  /** Keep the newest image of each of the N most recent days that have one. */
  daily?: number;
  /** … of each of the N most recent ISO weeks (Monday to Sunday) that have one. */
  weekly?: number;
  /** … of each of the N most recent calendar months that have one. */
  monthly?: number;
}

export interface PruneCandidate {
  id: string;
  /** ISO 8601 time the image was committed. */
  completedAt: string;
}

/**
 * Why an image is kept: the rules that chose it; 'no-policy' when no rule is set;
 * 'future' when it completed after `now` (a clock that was wrong: never counted, never removed).
 */
export type KeepReason = 'last' | 'daily' | 'weekly' | 'monthly' | 'no-policy' | 'future';

export interface PruneResult {
  /** Newest first. */
  keep: Array<{ id: string; reasons: KeepReason[] }>;
  /** Newest first. */
  remove: string[];
}

const RULES = ['keepLast', 'daily', 'weekly', 'monthly'] as const;
type Rule = (typeof RULES)[number];
const REASON: Record<Rule, KeepReason> = { keepLast: 'last', daily: 'daily', weekly: 'weekly', monthly: 'monthly' };
const DAY_MS = 86_400_000;

/**
 * Splits images into those the policy keeps and those it removes. Times are read in UTC.
 *
 * Each rule on its own walks the images newest first and keeps the newest image of each of
 * its N most recent periods that have an image (for keepLast every image is its own period);
 * days, weeks or months without an image do not count. An image several rules keep lists
 * every reason. Equal completion times are ordered by id, so the answer never depends on the
 * order of the input. Whenever a rule is set the newest image is kept.
 *
 * Never deletes everything by accident: an empty policy (no rule set, or every rule 0) keeps
 * every image, and images that completed after `now` are kept and count for no rule, so a
 * clock that once ran ahead cannot push the real backups out.
 *
 * Throws a usage error for a policy that is not whole numbers ≥ 0 or names an unknown rule,
 * and a bug for image records that are broken (no id, a time that is not ISO 8601, one id with
 * two times). The same record given twice counts once.
 */
export function prune(images: readonly PruneCandidate[], policy: RetentionPolicy, now: Date = new Date()): PruneResult {
  const counts = checkPolicy(policy);
  if (!Number.isFinite(now.getTime())) throw bug('prune was given an invalid Date as now');
  const sorted = [...uniqueImages(images)].sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const reasons = new Map<string, KeepReason[]>(sorted.map((image) => [image.id, []]));
  const keepFor = (id: string, reason: KeepReason): void => {
    reasons.get(id)?.push(reason);
  };
  const past = sorted.filter((image) => image.time <= now.getTime());
  for (const image of sorted) if (image.time > now.getTime()) keepFor(image.id, 'future');

  if (RULES.every((rule) => counts[rule] === 0)) {
    for (const image of past) keepFor(image.id, 'no-policy');
  }
  for (const rule of RULES) {
    let left = counts[rule];
    let lastPeriod: string | undefined;
    for (const [index, image] of past.entries()) {
      if (left === 0) break;
      const period = rule === 'keepLast' ? String(index) : periodOf(rule, image.time);
      if (period === lastPeriod) continue; // an older image of a period already served
      lastPeriod = period;
      keepFor(image.id, REASON[rule]);
      left--;
    }
  }

  const result: PruneResult = { keep: [], remove: [] };
  for (const { id } of sorted) {
    const why = reasons.get(id) ?? [];
    if (why.length > 0) result.keep.push({ id, reasons: why });
    else result.remove.push(id);
  }
  return result;
}

function checkPolicy(policy: RetentionPolicy): Record<Rule, number> {
  for (const key of Object.keys(policy)) {
    if (!(RULES as readonly string[]).includes(key)) {
      throw usageError(`retention policy has an unknown rule "${key}": use ${RULES.join(', ')}`);
    }
  }
  const counts = { keepLast: 0, daily: 0, weekly: 0, monthly: 0 };
  for (const rule of RULES) {
    const n: unknown = policy[rule];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw usageError(`retention ${rule} is ${JSON.stringify(n) ?? String(n)}: give a whole number of images, 0 or more (0 turns the rule off)`);
    }
    counts[rule] = n;
  }
  return counts;
}

function uniqueImages(images: readonly PruneCandidate[]): Array<{ id: string; time: number }> {
  const byId = new Map<string, { id: string; time: number; completedAt: string }>();
  for (const image of images) {
    const { id, completedAt } = image;
    if (typeof id !== 'string' || id === '') throw bug(`an image record given to prune has no id: ${JSON.stringify(image)}`);
    const time = parseIsoTime(completedAt);
    if (time === null) throw bug(`image ${id} has completedAt ${JSON.stringify(completedAt)}, not an ISO 8601 time with a zone`);
    const seen = byId.get(id);
    if (seen && seen.time !== time) throw bug(`image ${id} is listed twice, completed at ${seen.completedAt} and at ${completedAt}`);
    byId.set(id, { id, time, completedAt });
  }
  return [...byId.values()];
}

/** Milliseconds since the epoch of a strict ISO 8601 time with Z or an offset; null otherwise. */
function parseIsoTime(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d)(?::\d\d(?:\.\d{1,9})?)?(Z|([+-])(\d\d):(\d\d))$/.exec(text);
  const time = m ? Date.parse(text) : NaN;
  if (!m || !Number.isFinite(time)) return null;
  // Date.parse lets 02-30 through as 03-02, and 24:00 as the next day: read the clock back.
  const offset = m[2] === 'Z' ? 0 : (m[3] === '-' ? -1 : 1) * (Number(m[4]) * 60 + Number(m[5])) * 60_000;
  return new Date(time + offset).toISOString().slice(0, 16) === m[1] ? time : null;
}

/** The UTC day (2026-03-09), ISO week (2026-W11) or month (2026-03) a time falls in. */
export function periodOf(rule: 'daily' | 'weekly' | 'monthly', time: number): string {
  const d = new Date(time);
  const ymd = (t: Date): string => `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
  if (rule === 'daily') return ymd(d);
  if (rule === 'monthly') return ymd(d).slice(0, -3);
  // The ISO week belongs to the year of its Thursday and counts from that year's first Thursday.
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}
