import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { loadConfig } from './config.js';
import { resolveShare } from './shares.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-shares-${process.pid}-`));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function configWith(dir: string, shares: unknown) {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ dataDir: dir, scheduleTimerDir: null, socketGid: 0, shares }));
  return () => loadConfig({ config: file });
}

test('the config names shares: checked when loaded, the password read only by resolveShare', () => {
  withDir((dir) => {
    const pw = join(dir, 'nas.password');
    writeFileSync(pw, 'sekrit-Share-1\n', { mode: 0o600 });
    const config = configWith(dir, { nas: { type: 'smb', unc: '//10.219.0.1/lifeboat/', username: 'WORKGROUP\\backup', passwordFile: pw, localPath: '/srv/nas/' } })();
    assert.deepEqual(config.shares, { nas: { type: 'smb', unc: '//10.219.0.1/lifeboat', username: 'WORKGROUP\\backup', passwordFile: pw, localPath: '/srv/nas' } });
    assert.ok(!JSON.stringify(config).includes('sekrit'), 'the loaded config holds no password');
    assert.deepEqual(resolveShare(config, 'nas'), { kind: 'share', name: 'nas', type: 'smb', unc: '//10.219.0.1/lifeboat', username: 'WORKGROUP\\backup', password: 'sekrit-Share-1' });
    assert.deepEqual(configWith(dir, undefined)().shares, {});
  });
});

test('a bad shares entry fails loading the config, naming the entry and the field', () => {
  withDir((dir) => {
    const ok = { type: 'smb', unc: '//nas/b', username: 'backup', passwordFile: '/etc/lifeboat/nas.password' };
    const cases: Array<[unknown, RegExp]> = [
      [{ 'Bad Name': ok }, /shares\.Bad Name: a share name is 1-63 letters/],
      [{ nas: { ...ok, type: 'nfs' } }, /shares\.nas\.type/],
      [{ nas: { ...ok, unc: '\\\\nas\\b' } }, /shares\.nas\.unc: .*forward slashes/],
      [{ nas: { ...ok, username: 'a,b' } }, /shares\.nas\.username: must be a user name/],
      [{ nas: { ...ok, passwordFile: 'nas.password' } }, /shares\.nas\.passwordFile: must be an absolute path/],
      [{ nas: { ...ok, localPath: 'x' } }, /shares\.nas\.localPath: must be an absolute path/],
      [{ nas: { ...ok, password: 'inline' } }, /shares\.nas: Unrecognized key.*password/],
    ];
    for (const [shares, pattern] of cases) {
      assert.throws(configWith(dir, shares), (err: unknown) => err instanceof LifeboatError && err.kind === 'usage' && pattern.test(err.message), JSON.stringify(shares));
    }
  });
});

test('resolveShare refuses an unknown name, a readable or linked password file, and a password it cannot pass', () => {
  withDir((dir) => {
    const pw = join(dir, 'nas.password');
    writeFileSync(pw, 'sekrit,with-comma\n', { mode: 0o600 });
    const config = configWith(dir, { nas: { type: 'smb', unc: '//nas/b', username: 'backup', passwordFile: pw }, office: { type: 'smb', unc: '//nas/c', username: 'backup', passwordFile: join(dir, 'missing') } })();
    const refused = (name: string, pattern: RegExp, cfg = config) =>
      assert.throws(() => resolveShare(cfg, name), (err: unknown) => err instanceof LifeboatError && err.kind === 'user' && pattern.test(err.message) && !err.message.includes('sekrit'), `${name}: ${pattern}`);
    refused('nope', /no share named "nope": the config names nas, office; use one of them/);
    refused('__proto__', /no share named "__proto__"/);
    refused('nas', /share nas: the password in .* holds a comma/);
    refused('office', /share office's password file .*missing does not exist/);
    refused('x', /the config names no shares; add one under "shares"/, { ...config, shares: {} });
    writeFileSync(pw, 'sekrit\n');
    chmodSync(pw, 0o640);
    refused('nas', /share nas's password file .* has mode 0640: its group may read it; run `chmod 600/);
    chmodSync(pw, 0o604);
    refused('nas', /others may read it/);
    chmodSync(pw, 0o600);
    const link = join(dir, 'link');
    symlinkSync(pw, link);
    refused('nas', /symbolic link/, { ...config, shares: { nas: { ...config.shares.nas!, passwordFile: link } } });
    writeFileSync(pw, '\n');
    refused('nas', /is empty/);
  });
});
