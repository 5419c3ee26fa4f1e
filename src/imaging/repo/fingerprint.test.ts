import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { FingerprintMap, Fingerprinter, decodeFingerprints, encodeFingerprints, fingerprintKey, newFingerprintSalt } from './fingerprint.js';
import { FINGERPRINTS_HEADER_SIZE, NO_FINGERPRINT, UNUSED_DIGEST, ZERO_DIGEST } from './formats.js';

const aesBlock = (key: Buffer, block: Buffer): Buffer => {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return c.update(block);
};

/** GF(2^128) product in GCM's bit order (NIST SP 800-38D, algorithm 1). */
function gfMul(x: bigint, y: bigint): bigint {
  const R = 0xe1n << 120n;
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const toBuf = (n: bigint) => Buffer.from(n.toString(16).padStart(32, '0'), 'hex');

/** The construction the module's header describes, written out from the GCM specification. */
function fingerprintBySpec(key: Buffer, data: Buffer): Buffer {
  const k1 = key.subarray(0, 32);
  const k2 = key.subarray(32, 64);
  const h = toBig(aesBlock(k1, Buffer.alloc(16)));
  let y = 0n;
  const padded = Buffer.concat([data, Buffer.alloc((16 - (data.length % 16)) % 16)]);
  for (let off = 0; off < padded.length; off += 16) y = gfMul(y ^ toBig(padded.subarray(off, off + 16)), h);
  const lengths = Buffer.alloc(16);
  lengths.writeBigUInt64BE(BigInt(data.length * 8), 0); // additional data, in bits; no ciphertext
  y = gfMul(y ^ toBig(lengths), h);
  const j0 = Buffer.concat([Buffer.alloc(12), Buffer.from([0, 0, 0, 1])]);
  const tag = toBuf(y ^ toBig(aesBlock(k1, j0)));
  return aesBlock(k2, tag);
}

test('a fingerprint is AES_K2(GMAC_K1(chunk)), as written in the GCM specification', () => {
  const key = fingerprintKey(randomBytes(32), newFingerprintSalt());
  const f = new Fingerprinter(key);
  for (const length of [0, 1, 100, 4096, 4099]) {
    const data = randomBytes(length);
    assert.deepEqual(f.of(data), fingerprintBySpec(key, data), `length ${length}`);
  }
});

test('fingerprints tell apart one flipped bit anywhere, an appended zero, and another salt or store key', () => {
  const storeKey = randomBytes(32);
  const salt = newFingerprintSalt();
  const f = new Fingerprinter(fingerprintKey(storeKey, salt));
  const data = randomBytes(1 << 20);
  const base = f.of(data);
  assert.equal(base.length, 16);
  assert.deepEqual(f.of(Buffer.from(data)), base, 'deterministic');
  for (const at of [0, 1, 12345, data.length - 1]) {
    const changed = Buffer.from(data);
    changed[at] = (changed[at] as number) ^ 1;
    assert.notDeepEqual(f.of(changed), base, `bit flip at ${at}`);
  }
  assert.notDeepEqual(f.of(Buffer.concat([data, Buffer.alloc(1)])), base, 'length is bound');
  assert.notDeepEqual(f.of(Buffer.alloc(4096)), f.of(Buffer.alloc(8192)), 'zeros of two lengths');
  assert.notDeepEqual(new Fingerprinter(fingerprintKey(storeKey, newFingerprintSalt())).of(data), base, 'another lineage');
  assert.notDeepEqual(new Fingerprinter(fingerprintKey(randomBytes(32), salt)).of(data), base, 'another store');
  assert.throws(() => new Fingerprinter(Buffer.alloc(32)), RangeError);
});

test('the fingerprints file round-trips and refuses damage with an integrity error', () => {
  const prints = randomBytes(16 * 5);
  const file = encodeFingerprints(5, prints);
  assert.equal(file.length, FINGERPRINTS_HEADER_SIZE + 80);
  assert.deepEqual(decodeFingerprints(file, 5), prints);
  const bad = (buf: Buffer, count: number, why: RegExp) => assert.throws(() => decodeFingerprints(buf, count), (e: unknown) => e instanceof LifeboatError && e.kind === 'integrity' && why.test(e.message));
  bad(file, 6, /describes 5 chunks, the image has 6/);
  bad(file.subarray(0, file.length - 1), 5, /truncated or padded/);
  bad(file.subarray(0, 10), 5, /truncated/);
  const magic = Buffer.from(file);
  magic[0] = 0;
  bad(magic, 5, /bad magic/);
  const version = Buffer.from(file);
  version.writeUInt32LE(2, 8);
  bad(version, 5, /unknown version 2/);
  const entry = Buffer.from(file);
  entry.writeUInt32LE(32, 12);
  bad(entry, 5, /entries of 32 bytes/);
  const reserved = Buffer.from(file);
  reserved[30] = 1;
  bad(reserved, 5, /reserved/);
  assert.throws(() => encodeFingerprints(4, prints), RangeError);
});

test('fuzz: a damaged fingerprints file never crashes the decoder, it is refused or read whole', () => {
  const good = encodeFingerprints(8, randomBytes(128));
  for (let n = 0; n < 3000; n++) {
    const buf = n % 3 === 0 ? randomBytes(Math.floor(Math.random() * 200)) : Buffer.from(good);
    if (n % 3 !== 0) for (let k = 0; k < 1 + (n % 4); k++) buf[Math.floor(Math.random() * buf.length)] = Math.floor(Math.random() * 256);
    try {
      assert.equal(decodeFingerprints(buf, 8).length, 128);
    } catch (err) {
      assert.ok(err instanceof LifeboatError && err.kind === 'integrity', String(err));
    }
  }
});

test('a fingerprint map answers with the digest recorded at the same position, and leaves out zero and unused chunks', () => {
  const n = 300;
  const prints = randomBytes(16 * n);
  const digests = randomBytes(32 * n);
  ZERO_DIGEST.copy(digests, 32 * 7);
  UNUSED_DIGEST.copy(digests, 32 * 8);
  NO_FINGERPRINT.copy(prints, 16 * 9);
  const map = new FingerprintMap(FingerprintMap.pairsOf(prints, digests, (d) => d.equals(ZERO_DIGEST) || d.equals(UNUSED_DIGEST)));
  assert.equal(map.size, n - 3);
  for (let i = 0; i < n; i++) {
    const got = map.get(prints.subarray(16 * i, 16 * (i + 1)));
    if (i === 7 || i === 8 || i === 9) assert.equal(got, null, `chunk ${i} has no data`);
    else assert.deepEqual(got, digests.subarray(32 * i, 32 * (i + 1)), `chunk ${i}`);
  }
  for (let k = 0; k < 100; k++) assert.equal(map.get(randomBytes(16)), null);
  assert.equal(new FingerprintMap(new Uint8Array(0)).get(randomBytes(16)), null);
});
