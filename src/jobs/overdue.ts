// Which machines are overdue: their last good backup is older than the last time one of
// their enabled schedules should have backed them up (with a grace for booting and
// imaging). Pure: schedules, machines and their last good backup times in, a verdict per
// machine out. The console shows it; the API carries it (GET /v1/machines).
import { type CalendarSpec, nextElapse, parseCalendar } from './calendar.js';

export interface OverdueSchedule {
  name: string;
  calendar: string;
  enabled: boolean;
  createdAt: string;
  target: { machines: string[] } | { group: string } | { devices: string[] };
}

export interface OverdueMachine {
  name: string;
  group?: string;
}

export interface BackupPromise {
  /** The schedule whose promise is broken (or, when kept, the one due most recently). */
  schedule: string;
  /** When that schedule last should have fired (UTC ISO). */
  dueAt: string;
  /** The machine's last good backup (a done backup job), if any. */
  lastGood: string | null;
  overdue: boolean;
}

/** The last elapse of `spec` at or before `until`, looking back at most a year; null if none. */
export function previousElapse(spec: CalendarSpec, until: Date, timeZone: 'UTC' | 'local' = 'UTC'): Date | null {
  for (const days of [1, 8, 32, 367]) {
    let t: Date | null = new Date(until.getTime() - days * 86_400_000);
    let last: Date | null = null;
    for (let i = 0; i < 5000; i++) {
      t = nextElapse(spec, t, timeZone);
      if (!t || t.getTime() > until.getTime()) break;
      last = t;
    }
    if (last) return last;
  }
  return null;
}

/**
 * Per machine covered by an enabled schedule: is its last good backup older than the last
 * firing that is more than `graceMs` ago (default 2 h: an hour to boot, an hour to image)?
 * A schedule created after that firing promises nothing yet. Machines no schedule covers are absent.
 */
export function backupPromises(schedules: OverdueSchedule[], machines: OverdueMachine[], lastGood: Map<string, string>, now: Date, graceMs = 2 * 3_600_000): Map<string, BackupPromise> {
  const out = new Map<string, BackupPromise>();
  const cutoff = new Date(now.getTime() - graceMs);
  for (const s of schedules) {
    if (!s.enabled || 'devices' in s.target) continue;
    let due: Date | null;
    try {
      due = previousElapse(parseCalendar(s.calendar), cutoff);
    } catch {
      continue; // a calendar stored before calendars were checked promises nothing
    }
    if (!due || due.getTime() < Date.parse(s.createdAt)) continue;
    const covered = 'machines' in s.target ? new Set(s.target.machines) : null;
    const group = 'group' in s.target ? s.target.group : null;
    for (const m of machines) {
      if (!(covered?.has(m.name) || (group !== null && m.group === group))) continue;
      const good = lastGood.get(m.name) ?? null;
      const p: BackupPromise = { schedule: s.name, dueAt: due.toISOString(), lastGood: good, overdue: good === null || Date.parse(good) < due.getTime() };
      const seen = out.get(m.name);
      // Overdue by any schedule wins; among equals, the most recent due time.
      if (!seen || (p.overdue && !seen.overdue) || (p.overdue === seen.overdue && p.dueAt > seen.dueAt)) out.set(m.name, p);
    }
  }
  return out;
}
