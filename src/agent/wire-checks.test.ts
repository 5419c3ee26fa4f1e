// The agent's checks of what the appliance answers (hello, job/start of a backup and of a
// restore): good answers pass, every mutation of them is either accepted as well-formed or
// refused with a LifeboatError, never a crash (a fuzz over random field damage).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { encodeIndex } from '../imaging/repo/index-file.js';
import { checkHello } from './agent.js';
import { certifiedFromStart } from './remote-source.js';
import { checkBackupStart } from './remote-target.js';

const index = encodeIndex({ chunkSize: 65536, diskSize: 3 * 65536, chunkCount: 3, digests: Buffer.concat([randomBytes(32), Buffer.alloc(32), randomBytes(32)]) });
const manifest = { format: 'lifeboat-manifest', id: '20261203T120000Z-0123abcd', diskSize: 3 * 65536, chunkSize: 65536, chunkCount: 3, index: { bytes: index.length, sha256: createHash('sha256').update(index).digest('hex') }, source: { logicalSectorSize: 512 }, layout: null };
const restoreStart = () => ({ type: 'restore' as const, manifest: structuredClone(manifest), index: index.toString('base64'), minTargetBytes: 3 * 65536 });
const backupStart = () => ({ type: 'backup' as const, imageId: '20261203T120000Z-0123abcd', chunkSize: 1 << 20, parent: { id: '20261202T120000Z-0123abce', chunkCount: 5, hasFingerprints: true }, fingerprintSalt: 'ab'.repeat(16), fingerprintKey: 'cd'.repeat(64) });
const hello = () => ({ machine: 'm', job: { id: 'j1', type: 'restore', imageId: 'x', disk: { serial: 'S', name: null }, verify: true, verifyFirst: true, growLast: false, end: 'reboot' } });

const junk = [null, undefined, -1, 0, 1.5, 2 ** 60, '', 'x'.repeat(300), '../../etc', [], {}, true, NaN];

/** Sets a random (possibly nested) field of `v` to junk. */
function mutate(v: Record<string, unknown>, seed: number): void {
  let node: Record<string, unknown> = v;
  for (;;) {
    const keys = Object.keys(node);
    const k = keys[seed % keys.length] as string;
    seed = Math.floor(seed / 7) + 3;
    const child = node[k];
    if (child && typeof child === 'object' && seed % 3 !== 0) node = child as Record<string, unknown>;
    else {
      node[k] = junk[seed % junk.length];
      return;
    }
  }
}

test('good answers pass', () => {
  assert.equal(certifiedFromStart(restoreStart()).index.chunkCount, 3);
  assert.equal(checkBackupStart(backupStart()).chunkSize, 1 << 20);
  assert.ok(checkHello(hello()));
  assert.ok(checkHello({ machine: 'm', job: null }));
});

test('a restore\'s verifyFirst: true, false or if-partitioned (the default); anything else is not this protocol', () => {
  for (const verifyFirst of [true, false, 'if-partitioned']) assert.ok(checkHello({ ...hello(), job: { ...hello().job, verifyFirst } }), String(verifyFirst));
  for (const verifyFirst of ['yes', 'if-partitioned ', 1, null, undefined]) assert.equal(checkHello({ ...hello(), job: { ...hello().job, verifyFirst } }), null, String(verifyFirst));
});

test('an index that is not the one the manifest certifies is refused; nothing to write', () => {
  const s = restoreStart();
  const other = Buffer.from(index);
  other[40] = (other[40] ?? 0) ^ 1;
  s.index = other.toString('base64');
  assert.throws(() => certifiedFromStart(s), /is not the one its manifest certifies; nothing was written/);
});

test('fuzz: damaged answers are refused with a LifeboatError (or null for hello), never a crash', () => {
  for (let seed = 0; seed < 3000; seed++) {
    const r = restoreStart() as unknown as Record<string, unknown>;
    mutate(r, seed * 2654435761);
    try {
      certifiedFromStart(r as never);
    } catch (err) {
      assert.ok(err instanceof LifeboatError, `restore start seed ${seed}: ${(err as Error).stack}`);
    }
    const b = backupStart() as unknown as Record<string, unknown>;
    mutate(b, seed * 40503);
    try {
      checkBackupStart(b as never);
    } catch (err) {
      assert.ok(err instanceof LifeboatError, `backup start seed ${seed}: ${(err as Error).stack}`);
    }
    const h = hello() as unknown as Record<string, unknown>;
    mutate(h, seed * 97);
    const checked = checkHello(h);
    if (checked?.job) assert.ok(typeof checked.job.id === 'string' && (checked.job.end === 'reboot' || checked.job.end === 'poweroff'));
  }
  for (const bad of [null, 1, 'x', [], { machine: 1 }, { machine: 'm', job: 'x' }]) assert.equal(checkHello(bad), null);
});
