// Golden tests: the exact scripts iPXE and GRUB get for each kind of decision.
import test from 'node:test';
import assert from 'node:assert/strict';
import { type BootOsFiles, renderGrubMachine, renderGrubMain, renderIpxeScript } from './boot-script.js';
import type { BootAction } from './decision.js';

const files: BootOsFiles = {
  kernel: 'bootos/vmlinuz',
  initrd: 'bootos/initrd.img',
  cmdline: ['console=tty0', 'console=ttyS0,115200', 'lifeboat.url=https://10.0.0.1:8443', 'lifeboat.token=abc123', 'lifeboat.fp=sha256:00ff'],
};
const job: BootAction = { kind: 'boot-os', mode: 'job', machine: 'kiosk-1', jobId: 'j42', jobType: 'backup', token: 'abc123' };
const sanboot: BootAction = { kind: 'local-disk', how: 'sanboot', reason: 'no job is waiting for kiosk-1' };
const exit: BootAction = { kind: 'local-disk', how: 'exit', reason: 'no job is waiting for kiosk-1' };

test('iPXE: a job boots the boot OS over HTTP with initrd= for the EFI stub', () => {
  assert.equal(
    renderIpxeScript(job, 'uefi', 'http://10.0.0.1:8080', files),
    `#!ipxe
echo Lifeboat: starting the boot OS: backup job j42 for kiosk-1
kernel http://10.0.0.1:8080/boot/files/bootos/vmlinuz initrd=initrd.img console=tty0 console=ttyS0,115200 lifeboat.url=https://10.0.0.1:8443 lifeboat.token=abc123 lifeboat.fp=sha256:00ff || goto failed
initrd --name initrd.img http://10.0.0.1:8080/boot/files/bootos/initrd.img || goto failed
boot || goto failed
:failed
echo Lifeboat: the boot OS could not be loaded from the appliance: check its boot services (lifeboat serve) and the network
sleep 30
exit 1
`,
  );
});

test('iPXE: the local disk — sanboot under BIOS, exit under UEFI', () => {
  assert.equal(
    renderIpxeScript(sanboot, 'bios', 'http://10.0.0.1', files),
    `#!ipxe
echo Lifeboat: no job is waiting for kiosk-1: booting the local disk
sanboot --no-describe --drive 0x80 || goto failed
:failed
echo Lifeboat: the local disk did not boot
exit 1
`,
  );
  assert.equal(renderIpxeScript(sanboot, 'uefi', 'http://10.0.0.1', files), '#!ipxe\necho Lifeboat: no job is waiting for kiosk-1: booting the local disk\nexit\n');
  assert.equal(renderIpxeScript(exit, 'bios', 'http://10.0.0.1', files), '#!ipxe\necho Lifeboat: no job is waiting for kiosk-1: booting the local disk\nexit\n');
});

test('GRUB: the main config sources the per-machine file and checks a variable it sets', () => {
  const main = renderGrubMain();
  assert.match(main, /^source \$prefix\/mac\/\$\{net_default_mac\}\.cfg$/m);
  assert.match(main, /if \[ -z "\$lifeboat_config" \]; then/);
  assert.equal(
    renderGrubMachine(job, files),
    `set lifeboat_config=1
echo "Lifeboat: starting the boot OS: backup job j42 for kiosk-1"
linux /bootos/vmlinuz console=tty0 console=ttyS0,115200 lifeboat.url=https://10.0.0.1:8443 lifeboat.token=abc123 lifeboat.fp=sha256:00ff
initrd /bootos/initrd.img
boot
`,
  );
  assert.equal(renderGrubMachine(exit, files), 'set lifeboat_config=1\necho "Lifeboat: no job is waiting for kiosk-1: booting the local disk"\nexit\n');
});

test('inventory mode says so', () => {
  assert.match(renderIpxeScript({ kind: 'boot-os', mode: 'inventory' }, 'bios', 'http://10.0.0.1', files), /^echo Lifeboat: starting the boot OS: inventory \(new machine\)$/m);
});

test('script syntax never comes through a kernel argument, a path, a name or the base URL', () => {
  for (const arg of ['a b', 'x=${net0/mac}', 'a||reboot', 'a&&b', "it's", 'a"b', 'a;b', 'a\nb', '$x', 'a#b']) {
    assert.throws(() => renderIpxeScript(job, 'bios', 'http://10.0.0.1', { ...files, cmdline: [arg] }), RangeError, arg);
    assert.throws(() => renderGrubMachine(job, { ...files, cmdline: [arg] }), RangeError, arg);
  }
  for (const path of ['../etc/passwd', '/bootos/vmlinuz', 'boot os/x', 'a${x}']) {
    assert.throws(() => renderIpxeScript(job, 'bios', 'http://10.0.0.1', { ...files, kernel: path }), RangeError, path);
    assert.throws(() => renderGrubMachine(job, { ...files, initrd: path }), RangeError, path);
  }
  assert.throws(() => renderIpxeScript(job, 'bios', 'http://10.0.0.1/${x}', files), RangeError);
  const evil: BootAction = { ...job, machine: 'x"\necho ${pwned} || reboot', jobId: '$(id)' } as BootAction;
  const script = renderGrubMachine(evil, files) + renderIpxeScript(evil, 'bios', 'http://10.0.0.1', files);
  assert.doesNotMatch(script, /\$\{pwned\}|\|\| reboot|\$\(id\)|x"/);
  assert.equal(script.split('\n').filter((l) => l.startsWith('echo')).length, 3, 'the name stays on its echo line');
});
