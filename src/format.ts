// Units, one convention everywhere an operator reads a number (CLI, console, dashboard,
// logs): sizes in binary units (2.00 GiB), rates in decimal megabytes per second (what
// disks are compared by: 123.4 MB/s), durations as 41s, 8m41s, 2h02m, 1d01h.

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const SHORT = ['B', 'K', 'M', 'G', 'T', 'P'];

function scaled(n: number, units: readonly string[]): { v: number; u: number } {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return { v, u };
}

const digits = (v: number) => v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);

/** 1536 → "1.50 KiB", 2147483648 → "2.00 GiB". */
export function formatBytes(n: number): string {
  const { v, u } = scaled(n, IEC);
  return u === 0 ? `${n} B` : `${digits(v)} ${IEC[u]}`;
}

/** 1536 → "1.5K", 0 → "0B": the same binary units, short, for table columns. */
export function shortBytes(n: number): string {
  const { v, u } = scaled(Math.max(0, n), SHORT);
  return u === 0 ? `${Math.round(v)}B` : `${digits(v)}${SHORT[u]}`;
}

/** Decimal megabytes per second as a number with one decimal ("123.4"), for columns headed MB/s. */
export function mbps(bytesPerSecond: number): string {
  return (Math.max(0, Number.isFinite(bytesPerSecond) ? bytesPerSecond : 0) / 1e6).toFixed(1);
}

/** "123.4 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${mbps(bytesPerSecond)} MB/s`;
}

/** 41 → "41s", 521 → "8m41s", 7322 → "2h02m", 90000 → "1d01h"; `unknown` for null, negative or infinite. */
export function formatDuration(seconds: number | null | undefined, unknown = '--'): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return unknown;
  const s = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

/** "2026-12-03 15:04 CET": an ISO time in the zone the process runs in (TZ), with that zone's name; `unknown` if unreadable. */
export function formatLocalTime(iso: string | number, opts: { seconds?: boolean; unknown?: string } = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return opts.unknown ?? '?';
  const two = (n: number) => String(n).padStart(2, '0');
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}${opts.seconds ? `:${two(d.getSeconds())}` : ''}${zone ? ` ${zone}` : ''}`;
}
