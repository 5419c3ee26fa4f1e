import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOADERS, installLoaders } from './loaders.js';

test('installLoaders copies every Debian loader into the boot root with its digest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-loaders-'));
  try {
    const installed = await installLoaders(join(dir, 'boot'));
    assert.deepEqual(installed.map((l) => l.name), LOADERS.map((l) => l.name));
    for (const l of installed) {
      const bytes = readFileSync(join(dir, 'boot', l.name));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), l.sha256);
      assert.equal(bytes.length, l.bytes);
      assert.ok(l.bytes > 10_000, `${l.name} is a real binary`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing loader names its Debian package', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-loaders-'));
  try {
    writeFileSync(join(dir, 'present'), 'x');
    await assert.rejects(installLoaders(join(dir, 'boot'), [{ name: 'x.efi', source: join(dir, 'absent'), debianPackage: 'frob-signed' }]), /x\.efi is missing: .*absent comes with the Debian package frob-signed \(apt-get install frob-signed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
