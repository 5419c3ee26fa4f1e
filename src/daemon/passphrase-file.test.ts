import test from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { checkPassphrasePath, passphraseFileProblem, readPassphraseFile } from './passphrase-file.js';

test('the stored path is absolute and printable', () => {
  assert.equal(checkPassphrasePath('/etc/lifeboat/../lifeboat/pass'), '/etc/lifeboat/pass');
  assert.throws(() => checkPassphrasePath('pass'), /not an absolute path/);
  assert.throws(() => checkPassphrasePath('/etc/a\nb'), /passphrase file path/);
  assert.throws(() => checkPassphrasePath(7), /must be a path/);
});

test('owner and mode: root, nothing for others, not writable by the group', () => {
  const ok = { uid: 0, mode: 0o100600, isFile: true };
  assert.equal(passphraseFileProblem('/p', ok), null);
  assert.equal(passphraseFileProblem('/p', { ...ok, mode: 0o100640 }), null, 'readable by its group (e.g. lifeboat) is allowed');
  assert.match(passphraseFileProblem('/p', { ...ok, mode: 0o100644 }) ?? '', /mode 0644: others may read it; run `chmod 600 \/p`/);
  assert.match(passphraseFileProblem('/p', { ...ok, mode: 0o100660 }) ?? '', /its group may change it/);
  assert.match(passphraseFileProblem('/p', { ...ok, uid: 1000 }) ?? '', /owned by uid 1000, not root: .*chown root/);
  assert.match(passphraseFileProblem('/p', { ...ok, isFile: false }) ?? '', /not a regular file/);
});

test('reading a real file: first line; every refusal names the file and what to do, never the content', () => {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-pass-${process.pid}-`));
  try {
    const file = join(dir, 'pass');
    writeFileSync(file, 'sekrit-words\nsecond line\n', { mode: 0o600 });
    assert.equal(readPassphraseFile(file), 'sekrit-words');
    const refused = (path: string, pattern: RegExp) => {
      assert.throws(
        () => readPassphraseFile(path),
        (err: unknown) => err instanceof LifeboatError && err.kind === 'user' && pattern.test(err.message) && !err.message.includes('sekrit'),
      );
    };
    chmodSync(file, 0o644);
    refused(file, /chmod 600/);
    chmodSync(file, 0o600);
    chownSync(file, 65534, 0);
    refused(file, /owned by uid 65534/);
    chownSync(file, 0, 0);
    const link = join(dir, 'link');
    symlinkSync(file, link);
    refused(link, /symbolic link/);
    refused(join(dir, 'missing'), /does not exist.*create it/);
    refused(dir, /not a regular file/);
    writeFileSync(join(dir, 'empty'), '\nsekrit\n', { mode: 0o600 });
    refused(join(dir, 'empty'), /is empty: put the passphrase on its first line/);
    writeFileSync(join(dir, 'long'), 'x'.repeat(2000), { mode: 0o600 });
    refused(join(dir, 'long'), /longer than 1024/);
    refused('relative/pass', /not an absolute path/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
