// SMBIOS (DMTF DSP0134) structure table, as Linux exposes it in /sys/firmware/dmi/tables/
// (DMI: the structures; smbios_entry_point: the 32-bit "_SM_" or 64-bit "_SM3_" anchor
// with the version). Pure over bytes; firmware is hostile input: every offset is checked,
// and a damaged table yields what could be read, never an exception.
//
// Each structure: type (1 byte), formatted length (1), handle (2), the formatted area, then
// a set of NUL-terminated strings ending with an extra NUL. String fields hold a 1-based
// index into that set (0: no string).

export interface SmbiosSystem {
  /** RFC 4122 text, lowercase; null when absent, all 00 (not set) or all FF (not present) */
  uuid: string | null;
  manufacturer: string | null;
  product: string | null;
  version: string | null;
  serial: string | null;
  sku: string | null;
  family: string | null;
}

export interface SmbiosInfo {
  version: { major: number; minor: number } | null;
  system: SmbiosSystem;
  baseboard: { manufacturer: string | null; product: string | null; serial: string | null } | null;
  chassisAssetTag: string | null;
}

interface Structure {
  type: number;
  formatted: Buffer;
  strings: string[];
}

/** The version in the entry point, or null if it is neither anchor. */
export function parseEntryPoint(ep: Buffer): { major: number; minor: number } | null {
  if (ep.length >= 9 && ep.toString('latin1', 0, 5) === '_SM3_') return { major: ep[7]!, minor: ep[8]! };
  if (ep.length >= 8 && ep.toString('latin1', 0, 4) === '_SM_') return { major: ep[6]!, minor: ep[7]! };
  return null;
}

function* structures(table: Buffer): Generator<Structure> {
  let off = 0;
  while (off + 4 <= table.length) {
    const type = table[off]!;
    const length = table[off + 1]!;
    if (length < 4 || off + length > table.length) return;
    const formatted = table.subarray(off, off + length);
    let p = off + length;
    const strings: string[] = [];
    // The string set: strings until an empty one; a structure without strings has two NULs.
    if (p + 1 < table.length && table[p] === 0 && table[p + 1] === 0) p += 2;
    else {
      for (;;) {
        const end = table.indexOf(0, p);
        if (end < 0) return;
        strings.push(table.toString('latin1', p, end));
        p = end + 1;
        if (p >= table.length) break;
        if (table[p] === 0) {
          p++;
          break;
        }
      }
    }
    yield { type, formatted, strings };
    if (type === 127) return; // end of table
    off = p;
  }
}

function str(s: Structure, offset: number): string | null {
  if (offset >= s.formatted.length) return null;
  const index = s.formatted[offset]!;
  if (index === 0) return null;
  const text = s.strings[index - 1];
  if (text === undefined) return null;
  // Printable ASCII only: firmware strings end up in JSON, logs and the console.
  const clean = text.replace(/[^\x20-\x7e]/g, '').trim();
  return clean === '' ? null : clean;
}

/**
 * The UUID at offset 8 of the type-1 structure. SMBIOS 2.6 and later store the first three
 * fields little-endian (as RFC 4122 on x86 firmware does); earlier versions big-endian.
 */
export function formatSmbiosUuid(b: Buffer, version: { major: number; minor: number } | null): string | null {
  if (b.length !== 16 || b.every((x) => x === 0) || b.every((x) => x === 0xff)) return null;
  const le = version === null || version.major > 2 || (version.major === 2 && version.minor >= 6);
  const order = le ? [3, 2, 1, 0, 5, 4, 7, 6] : [0, 1, 2, 3, 4, 5, 6, 7];
  const head = order.map((i) => b[i]!.toString(16).padStart(2, '0')).join('');
  const tail = b.subarray(8).toString('hex');
  return `${head.slice(0, 8)}-${head.slice(8, 12)}-${head.slice(12, 16)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

export function parseSmbios(table: Buffer, entryPoint: Buffer | null): SmbiosInfo {
  const version = entryPoint === null ? null : parseEntryPoint(entryPoint);
  const info: SmbiosInfo = {
    version,
    system: { uuid: null, manufacturer: null, product: null, version: null, serial: null, sku: null, family: null },
    baseboard: null,
    chassisAssetTag: null,
  };
  let seenSystem = false;
  for (const s of structures(table)) {
    if (s.type === 1 && !seenSystem) {
      seenSystem = true;
      info.system = {
        uuid: s.formatted.length >= 24 ? formatSmbiosUuid(s.formatted.subarray(8, 24), version) : null,
        manufacturer: str(s, 4),
        product: str(s, 5),
        version: str(s, 6),
        serial: str(s, 7),
        sku: str(s, 0x19),
        family: str(s, 0x1a),
      };
    } else if (s.type === 2 && info.baseboard === null) {
      info.baseboard = { manufacturer: str(s, 4), product: str(s, 5), serial: str(s, 7) };
    } else if (s.type === 3 && info.chassisAssetTag === null) {
      info.chassisAssetTag = str(s, 8);
    }
  }
  return info;
}
