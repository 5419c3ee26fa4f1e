// A line-diffing screen writer. Ink runs in debug mode against it, so every write is one
// whole frame; the writer keeps the frame on screen, compares the next one line by line
// and sends the terminal only the lines that changed, each addressed absolutely (cursor
// to row;1, erase line, text). Nothing ever scrolls and the screen is never cleared
// except on the first frame and after a resize. Frames are coalesced to at most one per
// `minIntervalMs`.
import { Writable } from 'node:stream';

// eslint-disable-next-line no-control-regex -- escape sequences are what it matches
const CONTROL_ONLY = /^(?:\x1b\[[?0-9;]*[a-zA-Z])*$/;

/** The bytes that turn screen `prev` (null: unknown, clear first) into `next`, both exactly `rows` lines. */
export function diffFrame(prev: readonly string[] | null, next: readonly string[]): string {
  let out = prev ? '' : '\x1b[H\x1b[2J';
  next.forEach((line, i) => {
    if (prev && prev[i] === line) return;
    if (!prev && line === '') return;
    out += `\x1b[${i + 1};1H\x1b[2K${line}`;
  });
  return out;
}

/** A frame as exactly `rows` lines: cut below, padded with empty lines. */
export function toLines(frame: string, rows: number): string[] {
  const lines = frame.split('\n').slice(0, rows);
  while (lines.length < rows) lines.push('');
  return lines;
}

const ASCII_FALLBACK: Record<string, string> = { '…': '.', '→': '>', '←': '<', '’': "'", '‘': "'", '“': '"', '”': '"', '–': '-', '—': '-', '●': '*', '█': '#', '×': 'x' };

/** Any character outside ASCII as one ASCII character: the last guard for terminals that cannot show more. */
export function asciiOnly(line: string): string {
  // eslint-disable-next-line no-control-regex -- escape sequences stay, they are ASCII
  return line.replace(/[^ -~\x1b]/g, (c) => ASCII_FALLBACK[c] ?? '?');
}

export interface Screen {
  write(data: string): unknown;
}

export class FrameWriter extends Writable {
  /** Ink reads these for its layout width; isTTY false keeps Ink's own cursor codes away. */
  columns: number;
  rows: number;
  readonly isTTY = false;
  private shown: string[] | null = null;
  private pending: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;
  private stopped = false;

  constructor(
    private readonly screen: Screen,
    size: { columns: number; rows: number },
    private readonly opts: { minIntervalMs?: number; synchronized?: boolean; /** Replace non-ASCII characters (TERM=linux, no UTF-8). */ ascii?: boolean } = {},
  ) {
    super({ decodeStrings: false });
    this.columns = size.columns;
    this.rows = size.rows;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (!CONTROL_ONLY.test(text)) this.schedule(text);
    done();
  }

  private schedule(frame: string): void {
    this.pending = frame;
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, (this.opts.minIntervalMs ?? 33) - (Date.now() - this.lastFlush));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Puts the latest frame on screen now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === null || this.stopped) return;
    const lines = toLines(this.pending, this.rows);
    const next = this.opts.ascii ? lines.map(asciiOnly) : lines;
    this.pending = null;
    this.lastFlush = Date.now();
    const bytes = diffFrame(this.shown, next);
    this.shown = next;
    if (!bytes) return;
    const sync = this.opts.synchronized ?? false;
    this.screen.write(sync ? `\x1b[?2026h${bytes}\x1b[?2026l` : bytes);
  }

  /** New terminal size: the next frame repaints everything. Emits 'resize' as a TTY stream would. */
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.shown = null;
    this.emit('resize');
  }

  /** No more output, even if Ink renders once more while unmounting. */
  stop(): void {
    this.flush();
    this.stopped = true;
  }
}
