// systemd calendar events (OnCalendar=, `man systemd.time`, CALENDAR EVENTS): parse an
// expression into a CalendarSpec, print its normalized form, compute when it next elapses.
// Pure functions; the scheduler owns the timers. Schedules fire from systemd timers, so this
// follows systemd's calendarspec.c (v252, Debian 12: the tests' oracle) rather than the man
// page where the two differ, and the next run Lifeboat shows is the one the timer fires at:
// - what systemd refuses is refused, with a usage error naming the expression and the part;
//   that includes its quirks (at most ~28 for the first "~" day of a list, ~25 for the
//   second, …) and a repetition that never fires ("*:59/5");
// - also refused, because Lifeboat cannot evaluate them: time zones other than UTC
//   ("daily Europe/Berlin", "daily CET") and second fractions finer than a millisecond;
// - a repetition that steps past its field's end carries the way systemd's does: "*:4/18"
//   after 23:58 next fires at 00:22, not 00:04 (see `carried`);
// - local time: a wall-clock time skipped by a DST change does not fire that day; in the
//   repeated autumn hour a time fires once, in the pass that comes first after `after`.
// Known differences, all in local time at DST changes, where we give the plain answer:
// systemd 252 reuses a stale DST flag when a repetition carries across the change (it can
// skip a day, or fail with "Infinite loop in calendar calculation", e.g. "0/7:00" in
// Europe/Berlin on the evening before the spring change), and in zones with negative DST
// (Europe/Dublin) it skips the rest of the day after a skipped time.
import { bug, usageError } from '../errors.js';

/** One element of a field's list: `start`, `start/repeat`, `start..stop` or `start..stop/repeat`. */
export interface CalendarComponent {
  readonly start: number;
  /** Last value of a range; null for a single value or an open repetition. */
  readonly stop: number | null;
  /** Step from start; 0 for a single value. */
  readonly repeat: number;
}

/** The values a field matches, sorted; null matches any value (`*`). */
export type CalendarChain = readonly CalendarComponent[] | null;

export interface CalendarSpec {
  /** The expression as written (trimmed). */
  readonly source: string;
  /** Bit 0 = Monday … bit 6 = Sunday; null = any weekday. */
  readonly weekdays: number | null;
  readonly year: CalendarChain;
  readonly month: CalendarChain;
  /** Day of month; counted back from the month's last day (1 = last) when endOfMonth. */
  readonly day: CalendarChain;
  readonly endOfMonth: boolean;
  readonly hour: CalendarChain;
  readonly minute: CalendarChain;
  /** Milliseconds within the minute (`*` is every whole second: 0/1000). */
  readonly second: CalendarChain;
  /** The expression ends in ` UTC`: evaluated in UTC whatever the caller's time zone. */
  readonly utc: boolean;
}

const MIN_YEAR = 1970;
const MAX_YEAR = 2199;
const MAX_COMPONENTS = 240;
const ALL_WEEKDAYS = 0b1111111;
const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

interface Field {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  /** Values are milliseconds, written as seconds with an optional fraction. */
  readonly ms?: boolean;
}
const YEAR: Field = { name: 'year', from: MIN_YEAR, to: MAX_YEAR };
const MONTH: Field = { name: 'month', from: 1, to: 12 };
const DAY: Field = { name: 'day', from: 1, to: 31 };
const HOUR: Field = { name: 'hour', from: 0, to: 23 };
const MINUTE: Field = { name: 'minute', from: 0, to: 59 };
const SECOND: Field = { name: 'second', from: 0, to: 59_999, ms: true };
/** Date and hour fields before we know which one a number list is. */
const NUMBER: Field = { name: 'date or time', from: 0, to: Number.MAX_SAFE_INTEGER };

/** Shorthands and the long forms systemd reads them as ("anually" is systemd's old spelling). */
const SHORTHANDS = new Map([
  ['minutely', '*-*-* *:*:00'],
  ['hourly', '*-*-* *:00:00'],
  ['daily', '*-*-* 00:00:00'],
  ['weekly', 'Mon *-*-* 00:00:00'],
  ['monthly', '*-*-01 00:00:00'],
  ['yearly', '*-01-01 00:00:00'],
  ['annually', '*-01-01 00:00:00'],
  ['anually', '*-01-01 00:00:00'],
  ['quarterly', '*-01,04,07,10-01 00:00:00'],
  ['semiannually', '*-01,07-01 00:00:00'],
  ['semi-annually', '*-01,07-01 00:00:00'],
  ['biannually', '*-01,07-01 00:00:00'],
  ['bi-annually', '*-01,07-01 00:00:00'],
]);

const HINT = '(see `man systemd.time`, CALENDAR EVENTS; e.g. "daily", "Mon..Fri 02:30", "*-*-1 04:00", "*:0/15", "Sun 03:00 UTC")';

class Cursor {
  pos = 0;
  constructor(
    readonly expr: string,
    readonly text: string,
  ) {}
  get char(): string {
    return this.text[this.pos] ?? '';
  }
  get rest(): string {
    return this.text.slice(this.pos);
  }
  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  skipSpaces(): void {
    while (this.char === ' ') this.pos++;
  }
  fail(detail: string): never {
    throw usageError(`calendar expression "${this.expr}": ${detail} ${HINT}`);
  }
  /** Fails naming the text from the cursor on. */
  failHere(what: string): never {
    return this.fail(this.atEnd ? `${what} at its end` : `${what} at "${this.rest}"`);
  }
}

/**
 * Parses a systemd OnCalendar expression. Throws a usage error naming the expression and the
 * part that is wrong. Leading and trailing blanks are ignored (as in a unit file).
 */
export function parseCalendar(text: string): CalendarSpec {
  const expr = text.trim();
  if (expr === '') throw usageError(`calendar expression is empty: give one ${HINT}`);
  let body = expr;
  let utc = false;
  if (body.toLowerCase().endsWith(' utc')) {
    utc = true;
    body = body.slice(0, -4);
  } else {
    refuseTimeZone(expr);
  }
  const cur = new Cursor(expr, SHORTHANDS.get(body.toLowerCase()) ?? body);
  const raw = parseEvent(cur);
  if (!cur.atEnd) cur.failHere('unexpected text');
  return normalize(cur, { ...raw, utc: utc || raw.utc });
}

type Chain = CalendarComponent[] | null;
interface RawSpec {
  weekdays: number;
  year: Chain;
  month: Chain;
  day: Chain;
  endOfMonth: boolean;
  hour: Chain;
  minute: Chain;
  second: Chain;
  utc: boolean;
}

const single = (value: number): Chain => [{ start: value, stop: null, repeat: 0 }];

function refuseTimeZone(expr: string): void {
  const space = expr.lastIndexOf(' ');
  if (space < 0) return;
  const last = expr.slice(space + 1);
  // An IANA name (Europe/Berlin) or an abbreviation (CET, EDT) that is not a weekday.
  const weekday = WEEKDAY_NAMES.some((d) => d.slice(0, 3).toLowerCase() === last.slice(0, 3).toLowerCase());
  if (/^[A-Za-z][A-Za-z0-9_+-]*\/[A-Za-z0-9_+/-]+$/.test(last) || (/^[A-Z]{3,5}$/.test(last) && !weekday)) {
    throw usageError(
      `calendar expression "${expr}": time zone "${last}" is not supported: append " UTC", or leave the zone out for the appliance's local time`,
    );
  }
}

/** `@<seconds since the epoch>`: that one moment, in UTC. */
function parseTimestamp(cur: Cursor, weekdays: number): RawSpec {
  cur.pos++;
  const digits = /^\d+/.exec(cur.rest)?.[0];
  if (digits === undefined) cur.failHere('expected seconds since the epoch after "@"');
  cur.pos += digits.length;
  const t = new Date(Number(digits) * 1000);
  if (!Number.isFinite(t.getTime()) || t.getUTCFullYear() > MAX_YEAR) cur.fail(`timestamp @${digits} lies after ${MAX_YEAR}`);
  return {
    weekdays,
    year: single(t.getUTCFullYear()),
    month: single(t.getUTCMonth() + 1),
    day: single(t.getUTCDate()),
    endOfMonth: false,
    hour: single(t.getUTCHours()),
    minute: single(t.getUTCMinutes()),
    second: single(t.getUTCSeconds() * 1000),
    utc: true,
  };
}

/** [weekdays] [date] [time], each part optional; or [weekdays] @timestamp. */
function parseEvent(cur: Cursor): RawSpec {
  const weekdays = parseWeekdays(cur);
  if (cur.char === '@') return parseTimestamp(cur, weekdays);
  const spec: RawSpec = {
    weekdays,
    year: null,
    month: null,
    day: null,
    endOfMonth: false,
    hour: null,
    minute: null,
    second: null,
    utc: false,
  };
  parseDate(cur, spec);
  parseTime(cur, spec);
  return spec;
}

function parseWeekdays(cur: Cursor): number {
  let bits = 0;
  let rangeFrom = -1;
  for (let first = true; ; first = false) {
    const lower = cur.rest.toLowerCase();
    let day = -1;
    let length = 0;
    for (const [i, name] of WEEKDAY_NAMES.entries()) {
      const full = name.toLowerCase();
      length = lower.startsWith(full) ? full.length : lower.startsWith(full.slice(0, 3)) ? 3 : 0;
      if (length > 0) {
        day = i;
        break;
      }
    }
    if (day < 0) {
      if (first) return 0;
      return cur.failHere('expected a weekday name');
    }
    if (!['', '-', '.', ',', ' '].includes(cur.text[cur.pos + length] ?? '')) {
      cur.failHere('unknown weekday');
    }
    bits |= 1 << day;
    if (rangeFrom >= 0) {
      if (rangeFrom > day) {
        const wrapped = (ALL_WEEKDAYS & ~((1 << rangeFrom) - 1)) | ((2 << day) - 1);
        cur.fail(`weekday range ${WEEKDAY_NAMES[rangeFrom]?.slice(0, 3)}..${WEEKDAY_NAMES[day]?.slice(0, 3)} runs backwards: ranges run from Mon to Sun, write "${formatWeekdays(wrapped)}"`);
      }
      for (let j = rangeFrom + 1; j < day; j++) bits |= 1 << j;
    }
    cur.pos += length;
    if (cur.atEnd) return bits;
    if (cur.char === ' ') {
      cur.skipSpaces();
      return bits;
    }
    if (cur.char === '.' || cur.char === '-') {
      if (rangeFrom >= 0) cur.failHere('a weekday range can only join two days');
      if (cur.char === '.' && cur.text[cur.pos + 1] !== '.') cur.failHere('expected ".." between two weekdays');
      rangeFrom = day;
      cur.pos += cur.char === '.' ? 2 : 1;
    } else if (cur.char === ',') {
      rangeFrom = -1;
      cur.pos++;
    }
    if (cur.atEnd || cur.char === ' ') {
      if (rangeFrom >= 0) cur.fail('weekday range has no end');
      cur.skipSpaces();
      return bits;
    }
  }
}

/** `[year-]month-day`, with `~` instead of the last `-` for days counted from the month's end. */
function parseDate(cur: Cursor, spec: RawSpec): void {
  if (cur.atEnd) return;
  const start = cur.pos;
  const first = parseChain(cur, NUMBER);
  if (cur.atEnd || cur.char === ':') {
    cur.pos = start; // a time, not a date
    return;
  }
  const separator = (): void => {
    if (cur.char === '~') spec.endOfMonth = true;
    else if (cur.char !== '-') cur.failHere('expected "-" or "~" in the date');
    cur.pos++;
  };
  separator();
  const second = parseChain(cur, NUMBER);
  if (cur.atEnd || cur.char === ' ') {
    spec.month = first;
    spec.day = second;
  } else {
    if (spec.endOfMonth) cur.failHere('"~" must stand between month and day');
    separator();
    const third = parseChain(cur, NUMBER);
    if (!cur.atEnd && cur.char !== ' ') cur.failHere('expected a space after the date');
    spec.year = first;
    spec.month = second;
    spec.day = third;
  }
  cur.skipSpaces();
}

/** `hour:minute[:second]`; no time at all means 00:00:00. */
function parseTime(cur: Cursor, spec: RawSpec): void {
  if (cur.atEnd) {
    spec.hour = single(0);
    spec.minute = single(0);
    spec.second = single(0);
    return;
  }
  spec.hour = parseChain(cur, NUMBER);
  if (cur.char !== ':') cur.failHere('expected ":" after the hour');
  cur.pos++;
  spec.minute = parseChain(cur, NUMBER);
  if (cur.atEnd) {
    spec.second = single(0);
    return;
  }
  if (cur.char !== ':') cur.failHere('expected ":" after the minute');
  cur.pos++;
  spec.second = parseChain(cur, SECOND);
  if (!cur.atEnd) cur.failHere('unexpected text after the seconds');
}

/** `*` or a comma-separated list of components. */
function parseChain(cur: Cursor, field: Field): Chain {
  if (cur.char === '*') {
    cur.pos++;
    if (cur.rest.startsWith('/')) cur.failHere('"*/N" is cron syntax; systemd writes "0/N" (from 0, every N)');
    return field.ms ? [{ start: 0, stop: null, repeat: 1000 }] : null;
  }
  const chain: CalendarComponent[] = [];
  for (;;) {
    if (chain.length >= MAX_COMPONENTS) cur.fail(`more than ${MAX_COMPONENTS} values in one field`);
    chain.push(parseComponent(cur, field));
    if (cur.char !== ',') return chain;
    cur.pos++;
  }
}

function parseComponent(cur: Cursor, field: Field): CalendarComponent {
  const start = parseNumber(cur, field);
  let stop: number | null = null;
  let repeat = 0;
  if (cur.rest.startsWith('..')) {
    cur.pos += 2;
    stop = parseNumber(cur, field);
    repeat = field.ms ? 1000 : 1;
  }
  if (cur.char === '/') {
    cur.pos++;
    repeat = parseNumber(cur, field);
    if (repeat === 0) cur.fail('a repetition of /0 never advances');
  } else if (field.ms && stop !== null && start + repeat > stop) {
    cur.fail(`seconds range ${seconds(start)}..${seconds(stop)} is shorter than one second: give a repetition, e.g. "/0.5"`);
  }
  if (!['', ' ', ',', '-', '~', ':'].includes(cur.char)) cur.failHere('unexpected character');
  return { start, stop, repeat };
}

function parseNumber(cur: Cursor, field: Field): number {
  const digits = /^\d+/.exec(cur.rest)?.[0];
  if (digits === undefined) return cur.failHere('expected a number or "*"');
  cur.pos += digits.length;
  const whole = Number(digits);
  // systemd keeps every value, seconds in microseconds, in a C int.
  if (whole * (field.ms ? 1_000_000 : 1) > 0x7fff_ffff) cur.fail(`number ${digits} is too large`);
  if (!field.ms) return whole;
  let fraction = 0;
  if (cur.char === '.' && cur.text[cur.pos + 1] !== '.') {
    cur.pos++;
    const decimals = /^\d+/.exec(cur.rest)?.[0];
    if (decimals === undefined) return cur.failHere('expected digits after the decimal point');
    cur.pos += decimals.length;
    if (/[1-9]/.test(decimals.slice(3))) cur.fail(`${digits}.${decimals} seconds: Lifeboat schedules to the millisecond, not finer`);
    fraction = Number(decimals.slice(0, 3).padEnd(3, '0'));
  }
  return whole * 1000 + fraction;
}

/** Sorts, deduplicates and range-checks every field, as systemd does before it accepts a spec. */
function normalize(cur: Cursor, raw: RawSpec): CalendarSpec {
  const year = raw.year?.map((c) => ({ ...c, start: fullYear(c.start), stop: c.stop === null ? null : fullYear(c.stop) })) ?? null;
  const spec: CalendarSpec = {
    source: cur.expr,
    weekdays: raw.weekdays === 0 || raw.weekdays >= ALL_WEEKDAYS ? null : raw.weekdays,
    year: normalizeChain(year),
    month: normalizeChain(raw.month),
    day: normalizeChain(raw.day),
    endOfMonth: raw.endOfMonth && raw.day !== null,
    hour: normalizeChain(raw.hour),
    minute: normalizeChain(raw.minute),
    second: normalizeChain(raw.second),
    utc: raw.utc,
  };
  checkChain(cur, spec.year, YEAR, false);
  checkChain(cur, spec.month, MONTH, false);
  checkChain(cur, spec.day, DAY, spec.endOfMonth);
  checkChain(cur, spec.hour, HOUR, false);
  checkChain(cur, spec.minute, MINUTE, false);
  checkChain(cur, spec.second, SECOND, false);
  return spec;
}

/** Two-digit years: 00–69 are 2000–2069, 70–99 are 1970–1999. */
const fullYear = (y: number): number => (y < 70 ? y + 2000 : y < 100 ? y + 1900 : y);

function normalizeChain(chain: Chain): Chain {
  if (chain === null) return null;
  const out: CalendarComponent[] = [];
  for (const c of chain) {
    let { stop, repeat } = c;
    // A range ends on its last repetition; a repetition that never fires is dropped.
    if (stop !== null && stop > c.start && repeat > 0) stop -= (stop - c.start) % repeat;
    if ((stop !== null && stop > c.start && repeat > 0 && c.start + repeat > stop) || c.start === stop) {
      stop = null;
      repeat = 0;
    }
    out.push({ start: c.start, stop, repeat });
  }
  out.sort((a, b) => a.start - b.start || (a.stop ?? -1) - (b.stop ?? -1) || a.repeat - b.repeat);
  return out.filter((c, i) => {
    const prev = out[i - 1];
    return !prev || prev.start !== c.start || prev.stop !== c.stop || prev.repeat !== c.repeat;
  });
}

function checkChain(cur: Cursor, chain: CalendarChain, field: Field, endOfMonth: boolean): void {
  const from = field.from;
  const show = (v: number): string => (field.ms ? seconds(v) : String(v));
  const where = endOfMonth ? 'day counted back from the month\'s end ("~")' : field.name;
  for (const [i, c] of (chain ?? []).entries()) {
    // systemd allows ~28 at most, and (a quirk of its check) 3 days less for each further
    // value of the sorted list: ~28 first, ~25 second, … A timer refuses more, so do we.
    const to = endOfMonth ? field.to - 3 * (i + 1) : field.to;
    const range = `${show(from)}..${show(to)}`;
    const quirk = endOfMonth && i > 0 ? ` (systemd allows at most ~${to} as value ${i + 1} of a sorted list of "~" days)` : '';
    const text = formatComponent(c, 0, field.ms === true);
    if (c.start < from || c.start > to) cur.fail(`${where} ${show(c.start)} is outside ${range}${quirk}`);
    if (c.repeat > to - from) cur.fail(`${where} "${text}" repeats by more than the ${range} range${quirk}`);
    if (c.stop !== null) {
      if (c.stop < from || c.stop > to) cur.fail(`${where} ${show(c.stop)} is outside ${range}${quirk}`);
      if (c.start + c.repeat > c.stop) cur.fail(`${where} range "${text}" runs backwards`);
    } else if (endOfMonth ? c.start - c.repeat < from : c.start + c.repeat > to) {
      cur.fail(`${where} "${text}" never repeats within ${range}`);
    }
  }
}

const seconds = (ms: number): string => (ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(3).replace(/0+$/, ''));

/** systemd's normalized form, as `systemd-analyze calendar` prints it. */
export function formatCalendar(spec: CalendarSpec): string {
  const weekdays = spec.weekdays === null ? '' : `${formatWeekdays(spec.weekdays)} `;
  const date = `${formatChain(spec.year, 4, false)}-${formatChain(spec.month, 2, false)}${spec.endOfMonth ? '~' : '-'}${formatChain(spec.day, 2, false)}`;
  const time = `${formatChain(spec.hour, 2, false)}:${formatChain(spec.minute, 2, false)}:${formatChain(spec.second, 2, true)}`;
  return `${weekdays}${date} ${time}${spec.utc ? ' UTC' : ''}`;
}

function formatWeekdays(bits: number): string {
  const runs: string[] = [];
  for (let day = 0; day < 7; day++) {
    if (!(bits & (1 << day))) continue;
    let last = day;
    while (last + 1 < 7 && bits & (1 << (last + 1))) last++;
    const name = (d: number): string => WEEKDAY_NAMES[d]?.slice(0, 3) ?? '';
    runs.push(last === day ? name(day) : `${name(day)}${last > day + 1 ? '..' : ','}${name(last)}`);
    day = last;
  }
  return runs.join(',');
}

function formatChain(chain: CalendarChain, width: number, ms: boolean): string {
  if (chain === null || (ms && chain.some((c) => c.start === 0 && c.stop === null && c.repeat === 1000))) return '*';
  return chain.map((c) => formatComponent(c, width, ms)).join(',');
}

function formatComponent(c: CalendarComponent, width: number, ms: boolean): string {
  const unit = ms ? 1000 : 1;
  const value = (v: number, pad: number): string =>
    String(Math.floor(v / unit)).padStart(pad, '0') + (v % unit > 0 ? `.${String((v % unit) * 1000).padStart(6, '0')}` : '');
  let text = value(c.start, width);
  if (c.stop !== null) text += `..${value(c.stop, width)}`;
  if (c.repeat > 0 && !(c.stop !== null && c.repeat === unit)) text += `/${value(c.repeat, 0)}`;
  return text;
}

/**
 * The first moment strictly after `after` that the spec matches, or null if it never elapses
 * again (a date in the past, or beyond 2199). The spec's own ` UTC` wins; otherwise `timeZone`
 * says how to read the wall clock: 'local' (default, as systemd timers do) is the process's
 * time zone (TZ or /etc/localtime).
 */
export function nextElapse(spec: CalendarSpec, after: Date, timeZone: 'UTC' | 'local' = 'local'): Date | null {
  const t0 = after.getTime();
  if (!Number.isFinite(t0)) throw bug(`nextElapse of "${spec.source}" was given an invalid Date`);
  if (t0 >= Date.UTC(MAX_YEAR + 1, 0, 2)) return null; // no clock reads a year after MAX_YEAR
  const utc = spec.utc || timeZone === 'UTC';
  // Wall-clock times are "naive" milliseconds: Date.UTC of the clock's reading.
  let from = utc ? t0 + 1 : wallClock(t0 + 1);
  for (let attempt = 0; attempt < 100; attempt++) {
    const naive = nextWallClock(spec, from);
    if (naive === null) return null;
    if (utc) return new Date(naive);
    const instants = instantsOf(naive);
    const later = instants.find((t) => t > t0);
    if (later !== undefined) return new Date(later);
    // Only a reading skipped by a DST change maps to no instant: go on after the gap.
    from = instants.length === 0 ? gapEnd(naive) : naive + 1;
  }
  throw bug(`nextElapse of "${spec.source}" after ${after.toISOString()} did not settle`);
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const offsetAt = (t: number): number => new Date(t).getTimezoneOffset() * MINUTE_MS;
/** The local wall clock's reading at instant t, as naive milliseconds. */
const wallClock = (t: number): number => t - offsetAt(t);

/** Every instant whose local reading is `naive`: one, two in a repeated hour, none in a skipped one. */
function instantsOf(naive: number): number[] {
  const offsets = new Set([offsetAt(naive - DAY_MS), offsetAt(naive), offsetAt(naive + DAY_MS)]);
  return [...offsets]
    .map((offset) => naive + offset)
    .filter((t) => wallClock(t) === naive)
    .sort((a, b) => a - b);
}

/** The reading just after the DST gap that swallowed `naive`. */
function gapEnd(naive: number): number {
  const before = offsetAt(naive - DAY_MS);
  let lo = naive + offsetAt(naive + DAY_MS); // still on the old offset
  let hi = naive + before; // already on the new one
  if (!(lo < hi) || offsetAt(lo) !== before || offsetAt(hi) === before) return naive + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid) === before) lo = mid;
    else hi = mid;
  }
  return Math.max(wallClock(hi), naive + 1);
}

/** A wall-clock reading: year, month 1–12, day 1–31, hour, minute, milliseconds in the minute. */
type Clock = [number, number, number, number, number, number];
/** What each field starts over at (the year never does). */
const FIRST: Clock = [MIN_YEAR, 1, 1, 0, 0, 0];

function clockOf(naive: number): Clock {
  const d = new Date(naive);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds() * 1000 + d.getUTCMilliseconds()];
}
/** Out-of-range fields carry, as mktime() does. */
const naiveOf = (c: Clock): number => Date.UTC(c[0], c[1] - 1, c[2], c[3], c[4], 0, c[5]);

/** `c` with field i raised to v and the fields below it started over. */
function raised(c: Clock, i: number, v: number): Clock {
  return c.map((x, k) => (k < i ? x : k === i ? v : FIRST[k])) as Clock;
}

/**
 * A field stepped past its range (e.g. minute 4/18 after :58 is :76). systemd lets mktime()
 * carry it (23:76 → 00:16 of the next day) and then starts over only the field just below the
 * highest one that changed: here the hour, so the search goes on from 00:16, not 00:00 (and
 * "*:4/18" skips 00:04). Within the same hour or day it comes to the same as starting over.
 * Mirrored so the next elapse shown is the one the systemd timer fires at.
 */
function carried(c: Clock): Clock {
  const n = clockOf(naiveOf(c));
  const changed = n.findIndex((x, k) => x !== c[k]);
  const below = changed + 1;
  if (below === 5) n[5] %= 1000; // the whole seconds start over, their fraction stays
  else if (below < 5) n[below] = FIRST[below] ?? 0;
  return n;
}

/** The first wall-clock reading at or after `from` (naive ms) that the spec matches. */
function nextWallClock(spec: CalendarSpec, from: number): number | null {
  const chains = [spec.year, spec.month, spec.day, spec.hour, spec.minute, spec.second];
  let c = clockOf(from);
  // Each field moves to its next match. A field with none left carries into the one above
  // and the search starts over. Bounded: a few steps per month up to MAX_YEAR.
  search: for (let step = 0; step < 200_000; step++) {
    const year = nextValue(spec.year, c[0]);
    if (year === null || year > MAX_YEAR) return null;
    if (year > c[0]) c = raised(c, 0, year);
    for (let i = 1; i < 6; i++) {
      const monthDays = new Date(Date.UTC(c[0], c[1], 0)).getUTCDate();
      if (i === 3 && spec.weekdays !== null && !(spec.weekdays & (1 << ((new Date(naiveOf(c)).getUTCDay() + 6) % 7)))) {
        c = clockOf(naiveOf(raised(c, 2, c[2] + 1)));
        continue search;
      }
      const v = i === 2 ? nextDay(spec, c[2], monthDays) : nextValue(chains[i] ?? null, c[i] ?? 0);
      if (v === null) {
        c = clockOf(naiveOf(raised(c, i - 1, (c[i - 1] ?? 0) + 1)));
        continue search;
      }
      if (v > (c[i] ?? 0)) c = raised(c, i, v);
      if (v > [0, 12, monthDays, 23, 59, 59_999][i]!) {
        c = carried(c);
        continue search;
      }
    }
    return naiveOf(c);
  }
  throw bug(`calendar expression "${spec.source}": no next elapse found after 200000 steps`);
}

/** The smallest value ≥ `value` the chain matches (possibly beyond the field's range), or null. */
function nextValue(chain: CalendarChain, value: number, map?: (c: CalendarComponent) => [number, number | null]): number | null {
  if (chain === null) return value;
  let best: number | null = null;
  for (const c of chain) {
    const [start, stop] = map ? map(c) : [c.start, c.stop];
    let candidate: number | null = null;
    if (start >= value) candidate = start;
    else if (c.repeat > 0) {
      const k = start + c.repeat * Math.ceil((value - start) / c.repeat);
      if (stop === null || k <= stop) candidate = k;
    }
    if (candidate !== null && (best === null || candidate < best)) best = candidate;
  }
  return best;
}

/** Days counted from the month's end (`~`) become days of this month: ~1 is the last day. */
function nextDay(spec: CalendarSpec, day: number, monthDays: number): number | null {
  if (!spec.endOfMonth) return nextValue(spec.day, day);
  return nextValue(spec.day, day, (c) => {
    const start = monthDays - c.start + 1;
    return c.stop === null ? [start, null] : [monthDays - c.stop + 1, start];
  });
}
