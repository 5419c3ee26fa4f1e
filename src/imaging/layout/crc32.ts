// CRC-32 as GPT (UEFI spec, "CRC32" of the header and of the entry array), zlib and
// Ethernet compute it: the IEEE 802.3 polynomial 0x04C11DB7 processed bit-reflected
// (0xEDB88320), initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF.

const REFLECTED_POLY = 0xedb88320;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ REFLECTED_POLY : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 (IEEE) of `data`, as an unsigned 32-bit number. Pass a previous result as
 * `previous` to continue over data split into pieces: crc32(b, crc32(a)) === crc32(a ++ b).
 */
export function crc32(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    // Both indexes are in range by construction (byte value, table of 256).
    c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
