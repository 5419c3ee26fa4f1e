import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Loader, LOADERS, chooseBootFile, ipxeScriptUrl, isLoader } from './boot-file.js';

const URL = ipxeScriptUrl('10.0.0.1', 8080);

test('boot file by architecture and loader setting', () => {
  const table: Array<[number[], boolean, Loader, string | null]> = [
    [[0], false, 'auto', 'undionly.kpxe'],
    [[0], false, 'signed', 'undionly.kpxe'],
    [[0], false, 'ipxe', 'undionly.kpxe'],
    [[0], false, 'ipxe-full', 'undionly.kpxe'],
    [[], false, 'auto', 'undionly.kpxe'],
    [[7], false, 'auto', 'shimx64.efi'],
    [[7], false, 'signed', 'shimx64.efi'],
    [[7], false, 'ipxe', 'snponly.efi'],
    [[7], false, 'ipxe-full', 'ipxe.efi'],
    [[9], false, 'ipxe', 'snponly.efi'],
    [[9], false, 'auto', 'shimx64.efi'],
    [[0], true, 'auto', URL],
    [[7], true, 'signed', URL],
    [[6], false, 'auto', null],
    [[11], false, 'ipxe', null],
    [[16], false, 'auto', null],
    [[0xffff], false, 'auto', null],
    [[11, 7], false, 'ipxe', 'snponly.efi'],
  ];
  for (const [arch, ipxe, loader, expected] of table) {
    const got = chooseBootFile({ architectures: arch, ipxe }, loader, URL);
    assert.equal(got.file, expected, `arch ${arch} ipxe ${ipxe} loader ${loader}`);
    if (got.file === null) assert.match(got.reason, /not one Lifeboat boots/);
  }
});

test('an unsupported architecture is named in the reason', () => {
  const got = chooseBootFile({ architectures: [11], ipxe: false }, 'auto', URL);
  assert.ok(got.file === null && /ARM64 UEFI/.test(got.reason));
});

test('the iPXE script URL carries iPXE settings to expand, and fits the file field', () => {
  assert.equal(ipxeScriptUrl('192.168.1.2', 80), 'http://192.168.1.2/boot/ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}');
  assert.equal(URL, 'http://10.0.0.1:8080/boot/ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}');
  assert.ok(ipxeScriptUrl('255.255.255.255', 65535).length < 128);
});

test('isLoader accepts the four loaders only', () => {
  for (const l of LOADERS) assert.ok(isLoader(l));
  for (const v of ['', 'AUTO', 'grub', null, 1]) assert.ok(!isLoader(v));
});
