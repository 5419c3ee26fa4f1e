// Linux swap areas. Only the header page matters to a backup: the rest of a swap
// area holds pages of processes that no longer exist. The header is the kernel's
// `union swap_header` (include/linux/swap.h):
//   0..1023      boot bits (left for a partition table or boot loader)
//   1024  u32    version (1)
//   1028  u32    last_page (index of the last usable page)
//   1032  u32    nr_badpages
//   1036  16     uuid
//   1052  16     volume_name (NUL-padded)
//   page_size-10 "SWAPSPACE2" (version 1) or "SWAP-SPACE" (version 0)
// Fields are in the byte order of the machine that ran mkswap, so both are accepted.
// A swap area holding a hibernation image carries a different signature
// ("S1SUSPEND", "LINHIB0001", …) and is deliberately not recognised: it is imaged raw.
import { type BlockReader, type FsUsage, LayoutProblem } from './types.js';

/** Page sizes whose header layout we recognise, smallest first. */
const PAGE_SIZES = [4096, 8192, 16384, 65536] as const;
const MAGIC_V1 = 'SWAPSPACE2';
const MAGIC_V0 = 'SWAP-SPACE';
const SUBJECT = 'swap';

interface SwapHeader {
  pageSize: number;
  version: 0 | 1;
  /** Pages the area spans, header included. */
  pages: number;
  label?: string;
  uuid?: string;
}

async function findSignature(reader: BlockReader): Promise<{ pageSize: number; version: 0 | 1 } | undefined> {
  for (const pageSize of PAGE_SIZES) {
    if (reader.size < pageSize) break;
    const magic = (await reader.read(pageSize - 10, 10)).toString('latin1');
    if (magic === MAGIC_V1) return { pageSize, version: 1 };
    if (magic === MAGIC_V0) return { pageSize, version: 0 };
  }
  return undefined;
}

function formatUuid(bytes: Buffer): string | undefined {
  if (bytes.every((b) => b === 0)) return undefined;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function parseLabel(bytes: Buffer): string | undefined {
  const end = bytes.indexOf(0);
  const label = bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
  return label.length > 0 ? label : undefined;
}

async function readHeader(reader: BlockReader): Promise<SwapHeader> {
  const found = await findSignature(reader);
  if (!found) throw new LayoutProblem(SUBJECT, 'no SWAPSPACE2 or SWAP-SPACE signature at the end of the header page');
  const { pageSize, version } = found;
  const totalPages = Math.floor(reader.size / pageSize);
  if (version === 0) {
    // Version 0 keeps a bitmap of usable pages instead of fields; the area spans the device.
    return { pageSize, version, pages: totalPages };
  }
  const page = await reader.read(0, pageSize);
  const le = page.readUInt32LE(1024);
  const be = page.readUInt32BE(1024);
  if (le !== 1 && be !== 1) throw new LayoutProblem(SUBJECT, `header version is ${le}, expected 1`);
  const lastPage = le === 1 ? page.readUInt32LE(1028) : page.readUInt32BE(1028);
  if (lastPage < 1 || lastPage >= totalPages) {
    throw new LayoutProblem(SUBJECT, `last page ${lastPage} is outside the ${totalPages}-page device`);
  }
  const header: SwapHeader = { pageSize, version, pages: lastPage + 1 };
  const uuid = formatUuid(page.subarray(1036, 1052));
  if (uuid) header.uuid = uuid;
  const label = parseLabel(page.subarray(1052, 1068));
  if (label) header.label = label;
  return header;
}

/** True if the reader starts with a Linux swap header (version 0 or 1, any supported page size). */
export async function probeSwap(reader: BlockReader): Promise<boolean> {
  return (await findSignature(reader)) !== undefined;
}

/**
 * The used-byte map of a swap area: only its header page (label, UUID, size) is
 * worth keeping; everything after it is scratch space. Throws LayoutProblem when
 * the header is missing or inconsistent.
 */
export async function swapUsage(reader: BlockReader): Promise<FsUsage> {
  const header = await readHeader(reader);
  const usage: FsUsage = {
    fsType: 'swap',
    blockSize: header.pageSize,
    totalBytes: header.pages * header.pageSize,
    usedBytes: header.pageSize,
    used: [{ start: 0, length: header.pageSize }],
  };
  if (header.label !== undefined) usage.label = header.label;
  if (header.uuid !== undefined) usage.uuid = header.uuid;
  return usage;
}
