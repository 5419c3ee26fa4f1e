// mountShare's decisions and its effects against a recording twin of mount/umount (the real
// kernel SMB client is exercised in the boot OS: test/e2e/share-mount.integration.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { type CommandResult, type ShareMountDeps, type ShareMountDestination, checkShare, cifsOptions, fstabField, mountFailureAdvice, mountShare, mountedType } from './share-mount.js';

const dest: ShareMountDestination = { kind: 'share', name: 'nas', type: 'smb', unc: '//10.219.0.1/lifeboat', username: 'backup', password: 'p@ss word=1' };

test('the options string: user (and domain), password, the resolved address; fstab fields escaped', () => {
  assert.equal(cifsOptions(dest, null), 'username=backup,password=p@ss word=1,uid=0,gid=0,file_mode=0600,dir_mode=0700,soft');
  assert.equal(cifsOptions({ ...dest, username: 'OFFICE\\backup' }, '10.0.0.9'), 'username=backup,domain=OFFICE,password=p@ss word=1,ip=10.0.0.9,uid=0,gid=0,file_mode=0600,dir_mode=0700,soft');
  assert.equal(fstabField('a b\tc\\d\ne'), 'a\\040b\\011c\\134d\\012e');
});

test('a destination the agent cannot pass to the kernel is refused, never quoting the password', () => {
  assert.equal(checkShare(dest), null);
  assert.match(checkShare({ ...dest, unc: '//nas/a,ip=1.2.3.4' }) ?? '', /share nas: its address has "a,ip=1.2.3.4"/);
  assert.match(checkShare({ ...dest, username: 'x,password=y' }) ?? '', /user name .* is not one/);
  assert.match(checkShare({ ...dest, password: 'a,b' }) ?? '', /its password holds a comma/);
  assert.match(checkShare({ ...dest, type: 'nfs' as 'smb' }) ?? '', /type "nfs" is not one/);
  assert.ok(!(checkShare({ ...dest, password: 'sekrit,x' }) ?? '').includes('sekrit'));
});

test('busybox mount messages become advice', () => {
  const advice = (reason: string) => mountFailureAdvice(dest, '10.219.0.1', `mount: mounting //10.219.0.1/lifeboat on /mnt failed: ${reason}\n`);
  assert.match(advice('Permission denied'), /refused user backup .*check the user name and the password file of share nas/);
  assert.match(advice('No such device'), /no SMB client .*make kernels/);
  assert.match(advice('No such file or directory'), /has no share or folder \/\/10\.219\.0\.1\/lifeboat/);
  assert.match(advice('Host is down'), /cannot reach the SMB server 10\.219\.0\.1 on port 445/);
  assert.match(advice('Connection refused'), /cannot reach/);
  assert.match(advice('Operation not supported'), /SMB 2\.1 or later/);
  assert.match(mountFailureAdvice(dest, 'h', ''), /failed \(no message\)/);
});

test('mountinfo: the type mounted at a path, octal escapes decoded', () => {
  const info = '36 25 0:32 / /run rw - tmpfs tmpfs rw\n90 36 0:50 / /run/lifeboat\\040share rw,relatime - cifs //10.219.0.1/lifeboat rw,vers=3.1.1\n';
  assert.equal(mountedType(info, '/run/lifeboat share'), 'cifs');
  assert.equal(mountedType(info, '/run'), 'tmpfs');
  assert.equal(mountedType(info, '/mnt'), null);
  assert.equal(mountedType('garbage\n\n - \n', '/mnt'), null);
});

/** A twin of the boot OS's commands: `mount -T` reads the fstab file it is given (checking its mode) and "mounts" by listing the directory in mountinfo. */
function twin(dir: string, mountResult: Partial<CommandResult> = {}) {
  const calls: string[][] = [];
  const tables: Array<{ text: string; mode: number }> = [];
  let mounted: string | null = null;
  const deps: ShareMountDeps = {
    runDir: dir,
    resolve: async (host) => {
      if (host === 'nas.lab') return '10.219.0.7';
      throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    },
    mountinfo: () => (mounted !== null ? `90 36 0:50 / ${mounted} rw - cifs //x/y rw\n` : ''),
    run: async (cmd, args) => {
      calls.push([cmd, ...args]);
      if (cmd === 'mount') {
        const file = args[args.indexOf('-T') + 1] as string;
        tables.push({ text: readFileSync(file, 'utf8'), mode: statSync(file).mode & 0o777 });
        if ((mountResult.code ?? 0) === 0) mounted = args[args.length - 1] as string;
        return { code: 0, stdout: '', stderr: '', ...mountResult };
      }
      if (cmd === 'umount') mounted = null;
      if (cmd === 'dmesg') return { code: 0, stdout: 'noise\n[ 9.1] CIFS: VFS: \\\\10.219.0.1 Send error in SessSetup = -13\n', stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  return { deps, calls, tables, isMounted: () => mounted !== null };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-share-mount-${process.pid}-`));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('mountShare: the password goes through a 0600 fstab file that is gone afterwards, never an argument or a log line', async () => {
  await withDir(async (dir) => {
    const t = twin(dir);
    const lines: string[] = [];
    const at = join(dir, 'mnt');
    const unmount = await mountShare({ ...dest, unc: '//nas.lab/lifeboat/site 1' }, at, (l) => lines.push(l), t.deps);
    assert.equal(t.tables.length, 1);
    assert.equal(t.tables[0]?.mode, 0o600);
    assert.equal(t.tables[0]?.text, `//nas.lab/lifeboat/site\\0401 ${at} cifs username=backup,password=p@ss\\040word=1,ip=10.219.0.7,uid=0,gid=0,file_mode=0600,dir_mode=0700,soft 0 0\n`);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.fstab')), [], 'the fstab file is removed');
    const mount = t.calls.find((c) => c[0] === 'mount') ?? [];
    assert.deepEqual([...mount.slice(0, 3), mount[4]], ['mount', '-i', '-T', at]);
    assert.match(mount[3] ?? '', new RegExp(`^${dir}/lifeboat-share-[0-9a-f]{12}\\.fstab$`));
    for (const c of t.calls) assert.ok(!c.join(' ').includes('p@ss'), `argv ${c.join(' ')}`);
    for (const l of lines) assert.ok(!l.includes('p@ss'), l);
    assert.match(lines.join('\n'), /mounting share nas \(\/\/nas\.lab\/lifeboat\/site 1 as backup, nas\.lab is 10\.219\.0\.7\)/);
    await unmount();
    await unmount();
    assert.equal(t.isMounted(), false);
    const after = t.calls.map((c) => c[0]);
    assert.deepEqual(after.slice(after.indexOf('mount') + 1), ['sync', 'umount'], 'sync before umount, once');
  });
});

test('mountShare failures: refused login, unknown host, hostile destination, nothing mounted, read-only share', async () => {
  await withDir(async (dir) => {
    const at = join(dir, 'mnt');
    const fails = async (p: Promise<unknown>, pattern: RegExp) =>
      assert.rejects(p, (err: unknown) => err instanceof LifeboatError && err.kind === 'user' && pattern.test(err.message) && !err.message.includes('p@ss'));
    const refused = twin(dir, { code: 255, stderr: 'mount: mounting //10.219.0.1/lifeboat on /x failed: Permission denied\n' });
    await fails(mountShare(dest, at, () => {}, refused.deps), /refused user backup .*kernel: \[ 9\.1\] CIFS: VFS: .*SessSetup = -13/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.fstab')), [], 'the fstab file is removed after a failure too');
    await fails(mountShare({ ...dest, unc: '//nowhere.lab/x' }, at, () => {}, twin(dir).deps), /cannot find the address of SMB server nowhere\.lab .*by its IP address/);
    const hostile = twin(dir);
    await fails(mountShare({ ...dest, password: 'p@ss,ip=6.6.6.6' }, at, () => {}, hostile.deps), /its password holds a comma/);
    await fails(mountShare(dest, 'relative/dir', () => {}, hostile.deps), /must be a plain absolute path/);
    assert.equal(hostile.calls.length, 0, 'nothing is run for a destination that failed its checks');
    const silent = twin(dir);
    silent.deps.mountinfo = () => '';
    await fails(mountShare(dest, at, () => {}, silent.deps), /nothing is mounted there/);
    // a read-only share: the twin mounts a real read-only tmpfs there (root writes through mode bits, not through ro)
    const readOnly = twin(dir);
    const base = readOnly.deps.run;
    let mountedRo = false;
    readOnly.deps.run = async (cmd, args) => {
      const r = await base(cmd, args);
      if (cmd === 'mount') mountedRo = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', at]).status === 0;
      if (cmd === 'umount' && mountedRo) mountedRo = spawnSync('umount', [at]).status !== 0;
      return r;
    };
    try {
      await fails(mountShare(dest, at, () => {}, readOnly.deps), /mounted but user backup cannot write to it \(EROFS\): give the user write access/);
      assert.equal(mountedRo, false, 'a share that cannot be written is unmounted again');
      assert.equal(readOnly.isMounted(), false);
    } finally {
      if (mountedRo) spawnSync('umount', [at]);
    }
  });
});

test('hostile destinations: checkShare never throws, and what it accepts cannot add a mount option or an fstab field', () => {
  const alphabet = 'aZ09 ,=\\/.$-_\t\n#\u0000é@:';
  const pick = (n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const d: ShareMountDestination = { kind: 'share', name: 'nas', type: 'smb', unc: i % 2 === 0 ? `//nas/${pick(1 + (i % 12))}` : `//${pick(1 + (i % 9))}/x`, username: i % 3 === 0 ? 'backup' : pick(1 + (i % 10)), password: i % 5 === 0 ? 'pw' : pick(1 + (i % 16)) + (i % 7 === 0 ? '' : 'long-Pw-x') };
    const problem = checkShare(d);
    if (problem !== null) {
      if (d.password.length >= 8) assert.ok(!problem.includes(d.password), 'a refusal never quotes the password');
      continue;
    }
    accepted++;
    const options = cifsOptions(d, null);
    const expected = d.username.includes('\\') ? 8 : 7;
    assert.equal(options.split(',').length, expected, `${JSON.stringify(d)} → ${options}`);
    const line = `${fstabField(d.unc)} /run/share cifs ${fstabField(options)} 0 0`;
    assert.equal(line.split(/[ \t]+/).length, 6, line);
    assert.ok(!line.includes('\n'));
  }
  assert.ok(accepted > 200, `the fuzz exercised accepted destinations too (${accepted})`);
});
