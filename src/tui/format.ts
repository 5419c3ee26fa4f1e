// Pure text helpers for the console: sizes, rates, ages, progress bars and sparklines,
// each in a Unicode and a plain-ASCII form (TERM=linux, non-UTF-8 locales).
import { escapeForTerminal } from '../text.js';

// Sizes, rates and durations come from the one format module (src/format.ts).
export { mbps, shortBytes, formatDuration as duration } from '../format.js';

/** How long ago `iso` was, relative to `now` (ms): "12s", "5m", "3h", "2d". */
export function age(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '?';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A bar `width` cells wide for a fraction 0..1. */
export function bar(fraction: number, width: number, ascii: boolean): string {
  const w = Math.max(0, width);
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.floor(f * w);
  if (ascii) return '#'.repeat(full) + '-'.repeat(w - full);
  const eighths = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  const rest = Math.floor((f * w - full) * 8);
  const partial = full < w ? (eighths[rest] ?? '') : '';
  return '█'.repeat(full) + partial + ' '.repeat(w - full - (partial ? 1 : 0));
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII_SPARKS = ['_', '.', '-', '=', '+', '*', '#', '@'];

/** The last `width` values as a sparkline scaled to their maximum. */
export function sparkline(values: readonly number[], width: number, ascii: boolean): string {
  const shown = values.slice(-Math.max(0, width));
  const max = Math.max(0, ...shown);
  const glyphs = ascii ? ASCII_SPARKS : SPARKS;
  return shown.map((v) => (max <= 0 ? glyphs[0] : glyphs[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
}

/** Cuts `text` to `width` columns, ending in "…" (or "~" in ASCII) when cut; pads when `pad`. */
export function fit(text: string, width: number, opts: { ascii?: boolean; pad?: boolean; right?: boolean } = {}): string {
  if (width <= 0) return '';
  // Every line the console draws passes here: what came from outside (labels, names, errors) is shown, never obeyed.
  let t = escapeForTerminal(text);
  if (t.length > width) t = width === 1 ? t.slice(0, 1) : t.slice(0, width - 1) + (opts.ascii ? '~' : '…');
  if (!opts.pad) return t;
  return opts.right ? t.padStart(width) : t.padEnd(width);
}

/** Like fit, but a path too long loses its beginning ("…/disks/big.img"): the end names it. */
export function fitPath(raw: string, width: number, ascii = false): string {
  const path = escapeForTerminal(raw);
  if (path.length <= width) return path.padEnd(width);
  return width <= 1 ? path.slice(-width) : (ascii ? '~' : '…') + path.slice(-(width - 1));
}

/** "20261125T101500Z-1a2b3c4d" → "11-25 10:15 1a2b": image ids are long for an 80-column table. */
export function shortImageId(id: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})\d{2}Z-([0-9a-f]{4})/.exec(id);
  return m ? `${m[2]}-${m[3]} ${m[4]}:${m[5]} ${m[6]}` : id;
}

/** The first row to show so that `selected` stays inside a window of `height` rows. */
export function windowStart(count: number, selected: number, height: number): number {
  if (height <= 0 || count <= height) return 0;
  return Math.min(Math.max(0, selected - Math.floor(height / 2)), count - height);
}
