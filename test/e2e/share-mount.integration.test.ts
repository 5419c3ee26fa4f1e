// The agent's share mount in the real boot OS (issue 15, backups to a share): Samba's smbd in a
// namespace of this test (test/helpers/smb-share.ts), a QEMU machine (TCG) on a tap of its
// bridge booting the boot OS's own kernel and initramfs with a test-only /init appended
// (share-mount-init.sh) that runs src/agent/share-mount.ts's mountShare (share-mount-check.ts,
// bundled like the agent and placed beside it). Asserts: a wrong password is refused with
// advice; with the right one (the server named by host name) a file written in the VM appears
// byte for byte in the share's directory on this side; the image engine's backup of the VM's
// disk into <share>/lifeboat-store verifies here with `lifeboat image verify` and restores to
// the disk's exact bytes; the share is unmounted afterwards; the password shows nowhere on the
// console.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeCpio } from '../../src/bootos/cpio.js';
import { REPO, lifeboat, tempDir } from '../helpers/cli.js';
import { startSmbShare } from '../helpers/smb-share.js';
import { prepareBootOs } from '../helpers/vm-lab.js';

const MEBIBYTES = 16;
const MiB = 1 << 20;

function sh(command: string): void {
  const r = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr}`);
}

/** Boots kernel + initrd on `tap` in `ns`; resolves with the serial console when the machine powers off (or is killed at `ms`). */
async function bootOnce(ns: string, tap: string, kernel: string, initrd: string, disk: string, log: string, ms: number): Promise<string> {
  writeFileSync(log, '');
  const qemu: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'qemu-system-x86_64', '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', '1024',
    '-display', 'none', '-monitor', 'none', '-serial', `file:${log}`, '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0,115200n8 share.ip=10.219.0.50/24 share.server=10.219.0.1',
    '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:1c:02:0a',
    '-drive', `file=${disk},if=none,id=d0,format=raw,cache=unsafe`, '-device', 'virtio-blk-pci,drive=d0,serial=SHARE-TEST'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((r) => qemu.once('exit', r));
  const timer = setTimeout(() => qemu.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
  return readFileSync(log, 'latin1') + (stderr ? `\n[qemu stderr] ${stderr}` : '');
}

function results(serial: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of serial.matchAll(/^share-test: (wrong-password|wrote|backup|unmounted|done) (\{.*\})\r?$/gm)) out[m[1] as string] = JSON.parse(m[2] as string) as Record<string, unknown>;
  return out;
}

test('the boot OS mounts an SMB share with the agent\'s mountShare: a file written in the VM appears on the server, a wrong password is refused', { timeout: 20 * 60_000 }, async () => {
  const work = tempDir('lifeboat-share-vm-');
  const tag = `lsm${process.pid % 100000}`;
  const [ns, bridge, tap] = [`${tag}n`, `${tag}br`, `${tag}t`];
  let share: Awaited<ReturnType<typeof startSmbShare>> | null = null;
  try {
    prepareBootOs(join(work.dir, 'data'));
    const boot = join(work.dir, 'data/boot/lifeboat');
    // bundled as bundle-agent.sh bundles the agent, so the engine finds the boot OS's chunk worker and LZ4 addon
    const bundle = join(work.dir, 'share-test.cjs');
    execFileSync(join(REPO, 'node_modules/.bin/esbuild'), [join(REPO, 'test/e2e/share-mount-check.ts'), '--bundle', '--platform=node', '--target=node24', '--format=cjs', `--outfile=${bundle}`, '--log-level=warning',
      '--banner:js="use strict"; var __lifeboat_module_url = require("node:url").pathToFileURL(__filename).href;', '--define:import.meta.url=__lifeboat_module_url'], { cwd: REPO });
    // the VM's disk: 12 MiB of random bytes, then zeros, 32 MiB in all
    const disk = join(work.dir, 'disk.img');
    writeFileSync(disk, Buffer.concat([randomBytes(12 * MiB), Buffer.alloc(20 * MiB)]));
    const diskSha = createHash('sha256').update(readFileSync(disk)).digest('hex');

    sh(`ip netns add ${ns} && ip -n ${ns} link set lo up && ip -n ${ns} link add ${bridge} type bridge && ip -n ${ns} addr add 10.219.0.1/24 dev ${bridge} && ip -n ${ns} link set ${bridge} up`);
    sh(`ip -n ${ns} tuntap add dev ${tap} mode tap && ip -n ${ns} link set ${tap} master ${bridge} && ip -n ${ns} link set ${tap} up`);
    share = await startSmbShare({ ns, address: '10.219.0.1', dir: work.dir, name: 'lifeboat', password: `Sh4re pw=${randomBytes(4).toString('hex')}` });
    const nonce = randomBytes(6).toString('hex');
    const settings = {
      dest: { kind: 'share', name: 'nas', type: 'smb', unc: '//nas.lab/lifeboat', username: share.username, password: share.password },
      wrongPassword: `not-${share.password}`,
      nonce,
      mebibytes: MEBIBYTES,
      disk: '/dev/vda',
    };
    const base = readFileSync(join(boot, 'initrd.img'));
    const extra = encodeCpio([
      { type: 'file', path: 'init', data: readFileSync(join(REPO, 'test/e2e/share-mount-init.sh')), mode: 0o755 },
      { type: 'file', path: 'usr/lib/lifeboat/dist/agent/share-test.cjs', data: readFileSync(bundle) },
      { type: 'dir', path: 'etc' },
      { type: 'file', path: 'etc/share-test.json', data: Buffer.from(JSON.stringify(settings)), mode: 0o600 },
    ]);
    const initrd = join(work.dir, 'share-initrd.img');
    writeFileSync(initrd, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), extra]));

    const log = join(work.dir, 'vm.serial');
    let serial = await bootOnce(ns, tap, join(boot, 'vmlinuz'), initrd, disk, log, 10 * 60_000);
    // TCG on a loaded host now and then panics the guest kernel at its timer check: boot it again, once
    if (/Kernel panic/.test(serial) && !/share-test: done/.test(serial)) serial = await bootOnce(ns, tap, join(boot, 'vmlinuz'), initrd, disk, log, 10 * 60_000);
    const r = results(serial);
    const context = `\n--- serial (last 4000) ---\n${serial.slice(-4000)}\n--- smbd (last 1500) ---\n${share.log().slice(-1500)}`;

    assert.equal(r.done?.ok, true, `the check in the VM finished${context}`);
    assert.equal(r['wrong-password']?.mounted, false, context);
    assert.match(String(r['wrong-password']?.message), /10\.219\.0\.1 refused user backup for share \/\/10\.219\.0\.1\/lifeboat .*check the user name and the password file of share nas/, context);
    assert.match(serial, /mounting share nas \(\/\/nas\.lab\/lifeboat as backup, nas\.lab is 10\.219\.0\.1\) at \/run\/share/, context);

    assert.equal(readFileSync(join(share.dir, `hello-${nonce}.txt`), 'utf8'), `written in the boot OS ${nonce}\n`);
    const onServer = readFileSync(join(share.dir, `random-${nonce}.bin`));
    assert.equal(onServer.length, MEBIBYTES << 20);
    assert.equal(createHash('sha256').update(onServer).digest('hex'), r.wrote?.sha256, 'the file on the server is the one the VM wrote');
    assert.equal(r.wrote?.readBackMatches, true);
    assert.equal(r.unmounted?.stillMounted, false);

    // the engine's image on the share: verified and restored here, from the share's directory
    const id = String(r.backup?.id);
    const store = join(share.dir, 'lifeboat-store');
    const verify = lifeboat(['image', 'verify', id, '--store', store]);
    assert.equal(verify.code, 0, `image verify on the share's store: ${verify.stdout}${verify.stderr}${context}`);
    const back = join(work.dir, 'restored.img');
    const restore = lifeboat(['image', 'restore', id, back, '--store', store, '--yes']);
    assert.equal(restore.code, 0, `${restore.stdout}${restore.stderr}`);
    assert.equal(createHash('sha256').update(readFileSync(back)).digest('hex'), diskSha, 'the image on the share restores to the VM disk\'s exact bytes');
    assert.ok(!serial.includes(share.password), 'the password appears nowhere on the console');
    console.log(`share mount: ${MEBIBYTES} MiB written to the share from the VM (TCG) in ${Number(r.wrote?.seconds).toFixed(2)} s (${(MEBIBYTES / Number(r.wrote?.seconds)).toFixed(1)} MiB/s); backup of the 32 MiB disk into the share's store ${Number(r.backup?.seconds).toFixed(2)} s`);
  } finally {
    await share?.stop();
    spawnSync('ip', ['netns', 'del', ns]);
    work.cleanup();
  }
});
