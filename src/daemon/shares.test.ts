import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { loadConfig } from './config.js';
import { parseUnc, resolveShare, sharePasswordProblem } from './shares.js';

test('parseUnc: //host/share[/dir…] with an IPv4 address or a host name; anything else says what is wrong', () => {
  assert.deepEqual(parseUnc('//10.0.0.5/backups'), { host: '10.0.0.5', share: 'backups', path: '' });
  assert.deepEqual(parseUnc('//nas.example.org/Backups$/lifeboat/site-1/'), { host: 'nas.example.org', share: 'Backups$', path: 'lifeboat/site-1' });
  assert.deepEqual(parseUnc('//nas/My Share'), { host: 'nas', share: 'My Share', path: '' });
  const bad: Array<[string, RegExp]> = [
    ['\\\\nas\\share', /backslashes: write it with forward slashes/],
    ['nas/share', /not of the form \/\/host\/share/],
    ['//nas', /not of the form/],
    ['//nas/', /empty share or folder name/],
    ['//nas//x', /empty share or folder name/],
    ['//300.1.1.1/x', /not an IPv4 address or a host name/],
    ['//-nas/x', /not an IPv4 address or a host name/],
    ['//user@nas/x', /not an IPv4 address or a host name/],
    ['//nas/x/../y', /has "\.\.", which is not a share or folder name/],
    ['//nas/a,user=root', /"a,user=root", which is not a share or folder name/],
    ['//nas/a=b', /not a share or folder name/],
    ['//nas/a\nb', /not a share or folder name/],
    [`//nas/${'a'.repeat(600)}`, /longer than 512/],
  ];
  for (const [unc, pattern] of bad) {
    const r = parseUnc(unc);
    assert.equal(typeof r, 'string', unc);
    assert.match(r as string, pattern, unc);
  }
});

test('parseUnc never throws on hostile input, and what it accepts is exactly what it was given', () => {
  const alphabet = '/\\.,=$ -_aZ09\n\u0000é:@[]';
  for (let i = 0; i < 20000; i++) {
    const bytes = randomBytes(1 + (i % 40));
    const s = (i % 3 === 0 ? '//' : '') + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    const r = parseUnc(s);
    if (typeof r === 'string') continue;
    assert.equal(`//${r.host}/${r.share}${r.path ? `/${r.path}` : ''}`, s.replace(/\/$/, ''));
    // eslint-disable-next-line no-control-regex -- NUL is one of the characters the check is for
    assert.doesNotMatch(`${r.host}${r.share}${r.path}`, /[,=\\\n\u0000]/);
  }
});

test('a share password the boot OS cannot pass is refused without quoting it', () => {
  assert.equal(sharePasswordProblem('correct horse battery staple!'), null);
  assert.match(sharePasswordProblem('') ?? '', /is empty/);
  assert.match(sharePasswordProblem('ab,cd') ?? '', /comma/);
  assert.match(sharePasswordProblem('ab\u0007cd') ?? '', /control character/);
  assert.match(sharePasswordProblem('x'.repeat(257)) ?? '', /longer than 256/);
  for (const p of ['ab,cd', 'ab\u0007cd']) assert.ok(!(sharePasswordProblem(p) ?? '').includes(p));
});

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
      [{ 'Bad Name': ok }, /shares\.Bad Name: a share name is 1-32 lower-case/],
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
