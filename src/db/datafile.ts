// NeDB datafiles, checked before NeDB loads them.
//
// A datafile is one JSON document per line, appended to on every write and rewritten
// whole on compaction. NeDB itself skips lines it cannot parse and only refuses to load
// when more than 10% of them are bad (its corruptAlertThreshold), so a damaged line
// would otherwise vanish without a word. We scan each file ourselves first:
//
// - a damaged complete line (not UTF-8, not JSON, not an object) makes the open REFUSE,
//   naming the file and the line numbers, unless the caller asks for `repair`: then a
//   copy `<name>.db.corrupt-<time>` is kept and the bad lines are dropped.
// - a damaged LAST line with no newline after it is what a crash (power loss, full
//   disk) in the middle of an append leaves. NeDB drops such a line silently when it is
//   under its threshold (and refuses the whole file when it is not, e.g. 1 of 3 lines);
//   we drop it always, after keeping the copy, and say so: only that one unfinished
//   update is lost, which NeDB's durability model (appends are not fsynced) allows.
// - a valid line holding a raw U+0085, U+2028, U+2029 (or \r, \v, \f) is data, not
//   damage, but NeDB's line reader splits on those characters and would count the two
//   halves as corrupt. It is rewritten with the characters escaped (lossless), after the
//   copy. Our own writes escape them (see escapeLineBreakers), so only a file written by
//   something else has them.
//
// scanDatafile and repairDatafile are pure functions over the bytes; inspectDatafile and
// applyRepair are the thin file layer around them.
import { constants, copyFile, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describeSystemError } from '../errors.js';
import { fsyncDir, writeFileDurable } from '../imaging/repo/durable.js';
import { isNoSpace, noSpaceError } from './disk-space.js';

export type LineProblemKind = 'not-utf8' | 'not-json' | 'not-an-object' | 'line-breaker';

export interface LineProblem {
  /** 1-based, counting '\n' as the only line end (what `sed -n 17p` and editors show). */
  line: number;
  kind: LineProblemKind;
  reason: string;
  /** The start of the line, JSON-quoted so control bytes show. */
  excerpt: string;
  /** The line to write instead (line-breaker only: the same document, escaped); null to drop it. */
  replacement: string | null;
}

export interface DatafileScan {
  /** Non-empty lines. */
  lines: number;
  /** Problems in complete lines (those ended by '\n'), and in a last line that parses. */
  problems: LineProblem[];
  /** A last line with no '\n' after it that does not parse: an append cut short. */
  truncatedTail: LineProblem | null;
}

/** Characters NeDB's line reader (byline) splits on besides '\n'. */
// eslint-disable-next-line no-control-regex -- these control characters are the point
const LINE_BREAKERS = /[\r\u000b\u000c\u0085\u2028\u2029]/g;

/** Escapes the characters NeDB's reader would split a line on. Inside JSON they can only be in strings, where \uXXXX is the same value. */
export function escapeLineBreakers(line: string): string {
  return line.replace(LINE_BREAKERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function checkLine(bytes: Buffer, line: number): LineProblem | null {
  const excerpt = JSON.stringify(bytes.subarray(0, 80).toString('utf8')) + (bytes.length > 80 ? '…' : '');
  const problem = (kind: LineProblemKind, reason: string, replacement: string | null = null): LineProblem => ({ line, kind, reason, excerpt, replacement });
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return problem('not-utf8', 'not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return problem('not-json', `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem('not-an-object', 'valid JSON but not a document (an object)');
  LINE_BREAKERS.lastIndex = 0;
  const breaker = LINE_BREAKERS.exec(text);
  if (breaker) {
    const code = `U+${breaker[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    return problem('line-breaker', `holds a raw ${code}, which NeDB's reader takes for a line end`, escapeLineBreakers(JSON.stringify(value)));
  }
  return null;
}

/** Splits on '\n' and checks every line. A single '\r' before the '\n' (a file saved with CRLF) is accepted, as NeDB does. */
export function scanDatafile(bytes: Buffer): DatafileScan {
  const problems: LineProblem[] = [];
  let truncatedTail: LineProblem | null = null;
  let lines = 0;
  let start = 0;
  for (let n = 1; start < bytes.length; n++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    let body = bytes.subarray(start, end);
    if (body.length > 0 && body[body.length - 1] === 0x0d) body = body.subarray(0, body.length - 1);
    if (body.length > 0) {
      lines++;
      const problem = checkLine(body, n);
      if (problem && nl === -1 && problem.kind !== 'line-breaker') truncatedTail = problem;
      else if (problem) problems.push(problem);
    }
    start = end + 1;
  }
  return { lines, problems, truncatedTail };
}

/** The file's bytes with problem lines dropped or replaced and a truncated tail removed; every line ends in '\n'. */
export function repairDatafile(bytes: Buffer, scan: DatafileScan): Buffer {
  const byLine = new Map<number, LineProblem>();
  for (const p of scan.problems) byLine.set(p.line, p);
  if (scan.truncatedTail) byLine.set(scan.truncatedTail.line, scan.truncatedTail);
  const out: Buffer[] = [];
  let start = 0;
  for (let n = 1; start < bytes.length; n++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    const problem = byLine.get(n);
    if (!problem) {
      const line = bytes.subarray(start, end);
      if (line.length > 0) out.push(line, Buffer.from('\n'));
    } else if (problem.replacement !== null) {
      out.push(Buffer.from(`${problem.replacement}\n`));
    }
    start = end + 1;
  }
  return Buffer.concat(out);
}

export interface DatafileReport {
  file: string;
  lines: number;
  problems: LineProblem[];
  truncatedTail: LineProblem | null;
  /** Where the original was copied before a repair, or null when nothing was changed. */
  copy: string | null;
  /** True when NeDB's own crash-safe temp file (`<file>~`) had to be put back in place. */
  restoredFromTemp: boolean;
}

/** True when dropping lines would lose data, so only an explicit repair may do it. */
export function needsExplicitRepair(report: Pick<DatafileReport, 'problems'>): boolean {
  return report.problems.some((p) => p.replacement === null);
}

/** Compact UTC time for file names: 20261125T181200.123Z. */
export function fileStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw describeSystemError(err, `management database file ${path}`);
  }
}

/** Copies `file` to `<file>.corrupt-<stamp>` (never over an existing copy) and makes the copy durable. */
async function keepCopy(file: string, at: Date): Promise<string> {
  for (let i = 0; ; i++) {
    const copy = `${file}.corrupt-${fileStamp(at)}${i === 0 ? '' : `-${i}`}`;
    try {
      await copyFile(file, copy, constants.COPYFILE_EXCL);
      const fh = await open(copy, 'r');
      await fh.sync().finally(() => fh.close());
      fsyncDir(dirname(copy));
      return copy;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && i < 100) continue;
      await rm(copy, { force: true }).catch(() => {}); // a partial copy only takes space
      if (isNoSpace(err)) throw noSpaceError(dirname(file), `keeping a copy of ${basename(file)} before repairing it`, (await stat(file).catch(() => null))?.size ?? 0, err);
      throw describeSystemError(err, `copying ${file} before repairing it`);
    }
  }
}

export interface Inspection {
  report: DatafileReport;
  bytes: Buffer;
}

/** Reads and scans one datafile without changing it (beyond NeDB's own `~` recovery, which NeDB would do anyway). */
export async function inspectDatafile(file: string): Promise<Inspection> {
  let restoredFromTemp = false;
  if (!(await exists(file))) {
    // NeDB does the same on load: a missing file with a `~` beside it is a compaction cut short before its rename.
    if (!(await exists(`${file}~`))) return { report: { file, lines: 0, problems: [], truncatedTail: null, copy: null, restoredFromTemp }, bytes: Buffer.alloc(0) };
    await rename(`${file}~`, file).catch((err) => {
      throw describeSystemError(err, `management database file ${file}~`);
    });
    restoredFromTemp = true;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw describeSystemError(err, `management database file ${file}`);
  }
  return { report: { file, ...scanDatafile(bytes), copy: null, restoredFromTemp }, bytes };
}

/** True when the file needs rewriting (a truncated tail or a problem line). */
export function needsRepair(report: DatafileReport): boolean {
  return report.problems.length > 0 || report.truncatedTail !== null;
}

/** Keeps a copy of the file, then rewrites it without its damaged lines. Sets report.copy. */
export async function applyRepair({ report, bytes }: Inspection, now: Date): Promise<void> {
  const copy = await keepCopy(report.file, now);
  report.copy = copy;
  try {
    const { mode } = await stat(report.file);
    await writeFileDurable(report.file, repairDatafile(bytes, report), mode & 0o7777);
  } catch (err) {
    if (isNoSpace(err)) throw noSpaceError(dirname(report.file), `rewriting ${basename(report.file)} without its damaged lines (the original is kept as ${basename(copy)})`, bytes.length, err);
    throw describeSystemError(err, `repairing ${report.file} (the original is kept as ${basename(copy)})`);
  }
}

/** One line per problem, for messages and logs. */
export function describeProblems(report: DatafileReport, max = 10): string[] {
  const all = [...report.problems, ...(report.truncatedTail ? [report.truncatedTail] : [])];
  const lines = all.slice(0, max).map((p) => `  ${report.file} line ${p.line}: ${p.reason}${p === report.truncatedTail ? ' (the last line, cut short)' : ''}: ${p.excerpt}`);
  if (all.length > max) lines.push(`  … and ${all.length - max} more in ${report.file}`);
  return lines;
}
