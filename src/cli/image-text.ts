// An image's manifest in words, for `lifeboat image show` (local) and `lifeboat images show`
// (through the daemon): source, times, chunks, figures, certification and the partition
// layout (number, start, size, type, filesystem, used, how imaged). Pure; a manifest whose
// layout is missing or of an older shape prints what it has.
import { escapeForTerminal } from '../text.js';
import { formatBytes } from '../format.js';
import type { Manifest } from '../imaging/repo/manifest.js';

interface LayoutPart {
  number?: number;
  start?: number;
  size?: number;
  typeName?: string;
  type?: string;
  filesystem?: string | null;
  usedBytes?: number;
  method?: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The partition table of a manifest's layout as text lines (none when the image has no layout). */
export function layoutLines(layout: unknown): string[] {
  if (typeof layout !== 'object' || layout === null) return ['layout       (none recorded: imaged raw from a stream, or --raw)'];
  const l = layout as { table?: unknown; partitions?: unknown; wholeDisk?: unknown; sectorSize?: unknown };
  const table = str(l.table) ?? 'unknown';
  if (table === 'none') {
    const w = (l.wholeDisk ?? {}) as { filesystem?: unknown; method?: unknown };
    return [`layout       no partition table: the whole disk is ${str(w.filesystem) ?? 'of no known filesystem'}, imaged ${str(w.method) ?? 'raw'}`];
  }
  const parts = Array.isArray(l.partitions) ? (l.partitions as LayoutPart[]) : [];
  const rows = parts.map((p) => [String(num(p.number) ?? '?'), formatBytes(num(p.start) ?? 0), formatBytes(num(p.size) ?? 0), str(p.typeName) ?? str(p.type) ?? '?', str(p.filesystem) ?? '-', num(p.usedBytes) !== undefined ? formatBytes(num(p.usedBytes) as number) : '-', str(p.method) ?? '?']);
  const head = ['#', 'START', 'SIZE', 'TYPE', 'FILESYSTEM', 'USED', 'IMAGED'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `  ${r.map((v, c) => (c <= 2 || c === 5 ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0))).join('  ').trimEnd()}`;
  return [`layout       ${table.toUpperCase()} partition table, ${parts.length} partition(s)${num(l.sectorSize) ? `, ${num(l.sectorSize)}-byte sectors` : ''}`, ...(rows.length ? [line(head), ...rows.map(line)] : [])];
}

/** The whole manifest in words; `extra` lines (what only the appliance knows) come after the certification. */
export function manifestText(m: Manifest, extra: string[] = []): string {
  const s = m.stats;
  return [
    `image        ${m.id}${m.label ? `  (${escapeForTerminal(m.label)})` : ''}`,
    `source       ${escapeForTerminal(m.source.path)} (${m.source.kind}${m.source.model ? `, ${escapeForTerminal(m.source.model)}` : ''}${m.source.serial ? `, serial ${escapeForTerminal(m.source.serial)}` : ''}), ${formatBytes(m.diskSize)}, ${m.source.logicalSectorSize}-byte sectors`,
    `taken        ${m.createdAt} .. ${m.completedAt} on ${escapeForTerminal(m.host)}`,
    `parent       ${m.parent ?? '(none: full image)'}`,
    `chunks       ${m.chunkCount} x ${formatBytes(m.chunkSize)}: ${s.chunksNew} new, ${s.chunksReused} reused, ${s.chunksZero} zero`,
    `data         ${formatBytes(s.bytesNew)} new -> ${formatBytes(s.storedBytesNew)} stored (lz4 ${s.compressionRatio.toFixed(2)}x), ${formatBytes(s.bytesReused)} reused, ${formatBytes(s.bytesZero)} zero`,
    `read         ${formatBytes(s.bytesRead)}${s.bytesHashed !== undefined ? `, ${formatBytes(s.bytesHashed)} of it SHA-256'd (the rest known by fingerprint or zero)` : ''}`,
    `content      sha256-of-chunk-sha256 ${m.content.sha256}`,
    `fingerprints ${m.fingerprints ? `${m.fingerprints.alg}, lineage ${m.fingerprints.salt.slice(0, 8)}` : '(none: made before fingerprints)'}`,
    `certified    ${m.certification.alg} by store key ${m.certification.keyId}`,
    `passphrase   ${m.passphrase ? 'required to restore' : 'none'}`,
    ...extra,
    ...layoutLines(m.layout),
  ].join('\n');
}
