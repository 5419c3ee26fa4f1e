// Each enabled schedule fires from its own systemd timer: the template
// lifeboat-schedule@.timer plus a drop-in carrying the schedule's calendar. The database
// is the truth; the drop-ins are derived from it at every daemon start and after every
// change, in a runtime unit directory (/run/systemd/system by default: gone at reboot,
// written again when the daemon starts). Drop-ins we did not write are never touched.
// Pure parts (file names, contents, what to change) are separate from the effects.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bug } from '../errors.js';
import type { Schedule } from '../db/index.js';

export const TIMER_PREFIX = 'lifeboat-schedule@';
const DROP_IN = 'lifeboat-calendar.conf';
const MARK = '# Written by the lifeboat daemon';

export function timerUnit(scheduleName: string): string {
  return `${TIMER_PREFIX}${scheduleName}.timer`;
}

/** The drop-in giving a schedule's timer its calendar. Pure. */
export function dropInText(s: Pick<Schedule, 'name' | 'calendar'>): string {
  // The API has parsed the calendar already; a unit file must still never receive a line
  // break (another directive), a backslash (line continuation) or a % (a specifier).
  const unsafe = [...s.calendar].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f || ch === '%' || ch === '\\');
  if (unsafe || !/^[a-z0-9-]+$/.test(s.name)) throw bug(`schedule ${JSON.stringify(s.name)} has a calendar or name a unit file cannot hold: ${JSON.stringify(s.calendar)}`);
  return `${MARK} for schedule ${s.name}; \`lifeboat schedule rm ${s.name}\` removes it.\n[Timer]\nOnCalendar=\nOnCalendar=${s.calendar}\n`;
}

export interface TimerChanges {
  write: Array<{ unit: string; text: string }>;
  remove: string[];
}

/** What must change so the drop-ins match the schedules. Pure. */
export function timerChanges(schedules: Array<Pick<Schedule, 'name' | 'calendar' | 'enabled'>>, current: Map<string, string>): TimerChanges {
  const wanted = new Map(schedules.filter((s) => s.enabled).map((s) => [timerUnit(s.name), dropInText(s)]));
  return {
    write: [...wanted].filter(([unit, text]) => current.get(unit) !== text).map(([unit, text]) => ({ unit, text })),
    remove: [...current.keys()].filter((unit) => !wanted.has(unit)),
  };
}

export interface TimerSync {
  /** Makes the drop-ins match; starts and stops timers when systemd runs. Never throws: returns problems. */
  sync(schedules: Schedule[]): string[];
}

export function timerSync(dir: string, log: (msg: string, fields?: Record<string, unknown>) => void, systemd = existsSync('/run/systemd/system')): TimerSync {
  const current = (): Map<string, string> => {
    const out = new Map<string, string>();
    if (!existsSync(dir)) return out;
    for (const entry of readdirSync(dir)) {
      if (!entry.startsWith(TIMER_PREFIX) || !entry.endsWith('.timer.d')) continue;
      const file = join(dir, entry, DROP_IN);
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      if (text.startsWith(MARK)) out.set(entry.slice(0, -2), text);
    }
    return out;
  };
  const systemctl = (args: string[], problems: string[]) => {
    if (!systemd) return;
    const r = spawnSync('systemctl', args, { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) problems.push(`systemctl ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  };
  return {
    sync(schedules) {
      const problems: string[] = [];
      let changes: TimerChanges;
      try {
        changes = timerChanges(schedules, current());
        for (const { unit, text } of changes.write) {
          const d = join(dir, `${unit}.d`);
          mkdirSync(d, { recursive: true, mode: 0o755 });
          writeFileSync(join(d, `${DROP_IN}.tmp`), text, { mode: 0o644 });
          renameSync(join(d, `${DROP_IN}.tmp`), join(d, DROP_IN));
        }
        for (const unit of changes.remove) {
          rmSync(join(dir, `${unit}.d`, DROP_IN), { force: true });
          try {
            rmdirSync(join(dir, `${unit}.d`)); // only when empty: another drop-in stays with its directory
          } catch {
            // not empty, or already gone
          }
        }
      } catch (err) {
        problems.push(`cannot write the schedule timers in ${dir}: ${(err as Error).message}`);
        return problems;
      }
      if (changes.write.length + changes.remove.length > 0) {
        systemctl(['daemon-reload'], problems);
        for (const unit of changes.remove) systemctl(['stop', unit], problems);
        for (const { unit } of changes.write) systemctl(['restart', unit], problems);
        log('schedule timers updated', { dir, written: changes.write.map((w) => w.unit), removed: changes.remove, systemd });
      }
      return problems;
    },
  };
}
