import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parseCpuinfo, parseMeminfo, parseVpdPage80, readInventory } from './inventory.js';

function put(root: string, path: string, content: string | Buffer) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

test('disks from a sysfs tree: NVMe serial on the controller, virtio-blk serial attribute, SCSI VPD page 0x80; loop devices and partitions left out', () => {
  const root = mkdtempSync(join(tmpdir(), 'lifeboat-inv-'));
  try {
    const dev = (p: string) => join(root, 'sys/devices', p);
    // NVMe: /sys/block/nvme0n1 -> ../devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1, device -> nvme0
    put(root, 'sys/devices/pci/nvme/nvme0/serial', 'NVME-SER-1   \n');
    put(root, 'sys/devices/pci/nvme/nvme0/model', 'QEMU NVMe Ctrl\n');
    put(root, 'sys/devices/pci/nvme/nvme0/nvme0n1/size', '2097152\n');
    put(root, 'sys/devices/pci/nvme/nvme0/nvme0n1/queue/logical_block_size', '4096\n');
    put(root, 'sys/devices/pci/nvme/nvme0/nvme0n1/queue/physical_block_size', '4096\n');
    put(root, 'sys/devices/pci/nvme/nvme0/nvme0n1/nvme0n1p1/size', '100\n');
    symlinkSync(dev('pci/nvme/nvme0'), dev('pci/nvme/nvme0/nvme0n1/device'));
    // virtio-blk
    put(root, 'sys/devices/pci/virtio1/block/vda/serial', 'VIRTIO-SER-2');
    put(root, 'sys/devices/pci/virtio1/block/vda/size', '131072');
    put(root, 'sys/devices/pci/virtio1/block/vda/removable', '0');
    put(root, 'sys/devices/pci/virtio1/block/vda/queue/rotational', '1');
    symlinkSync(dev('pci/virtio1'), dev('pci/virtio1/block/vda/device'));
    // SATA disk through libata: serial only in VPD page 0x80
    put(root, 'sys/devices/pci/ata1/host0/target0/0:0:0:0/vpd_pg80', Buffer.concat([Buffer.from([0, 0x80, 0, 9]), Buffer.from('  SATA-3\u0000x')]));
    put(root, 'sys/devices/pci/ata1/host0/target0/0:0:0:0/model', 'Samsung SSD');
    put(root, 'sys/devices/pci/ata1/host0/target0/0:0:0:0/block/sda/size', '1000');
    symlinkSync(dev('pci/ata1/host0/target0/0:0:0:0'), dev('pci/ata1/host0/target0/0:0:0:0/block/sda/device'));
    // loop device: no device link, left out
    put(root, 'sys/devices/virtual/block/loop0/size', '1000');
    mkdirSync(join(root, 'sys/block'), { recursive: true });
    symlinkSync(dev('pci/nvme/nvme0/nvme0n1'), join(root, 'sys/block/nvme0n1'));
    symlinkSync(dev('pci/virtio1/block/vda'), join(root, 'sys/block/vda'));
    symlinkSync(dev('pci/ata1/host0/target0/0:0:0:0/block/sda'), join(root, 'sys/block/sda'));
    symlinkSync(dev('virtual/block/loop0'), join(root, 'sys/block/loop0'));
    put(root, 'sys/devices/pci/net/eth0/address', '52:54:00:12:34:56\n');
    put(root, 'sys/devices/pci/net/eth0/operstate', 'up\n');
    put(root, 'sys/bus/pci/drivers/e1000/x', '');
    symlinkSync(join(root, 'sys/bus/pci/drivers/e1000'), join(root, 'sys/devices/pci/net/eth0/driver'));
    symlinkSync(join(root, 'sys/devices/pci/net/eth0'), join(root, 'sys/devices/pci/net/eth0/device'));
    put(root, 'sys/class/net/lo/address', '00:00:00:00:00:00');
    symlinkSync(dev('pci/net/eth0'), join(root, 'sys/class/net/eth0'));
    put(root, 'proc/cpuinfo', 'processor\t: 0\nmodel name\t: QEMU Virtual CPU\n\nprocessor\t: 1\nmodel name\t: QEMU Virtual CPU\n');
    put(root, 'proc/meminfo', 'MemTotal:        1012345 kB\nMemFree: 1 kB\n');

    const inv = readInventory(root);
    assert.deepEqual(inv.disks.map((d) => [d.name, d.serial, d.sizeBytes, d.logicalSectorSize, d.transport]), [
      ['nvme0n1', 'NVME-SER-1', 2097152 * 512, 4096, 'nvme'],
      ['sda', 'SATA-3', 512000, 512, 'sata'],
      ['vda', 'VIRTIO-SER-2', 131072 * 512, 512, 'virtio'],
    ]);
    assert.equal(inv.disks.find((d) => d.name === 'vda')?.rotational, true);
    assert.equal(inv.disks.find((d) => d.name === 'sda')?.model, 'Samsung SSD');
    assert.deepEqual(inv.nics, [{ name: 'eth0', mac: '52:54:00:12:34:56', driver: 'e1000', operstate: 'up' }]);
    assert.deepEqual(inv.cpu, { model: 'QEMU Virtual CPU', count: 2 });
    assert.equal(inv.memoryBytes, 1012345 * 1024);
    assert.equal(inv.smbios.system.uuid, null, 'no DMI table: no identity, no exception');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('hostile attribute contents are cleaned or ignored', () => {
  assert.equal(parseVpdPage80(Buffer.from([0, 0x83, 0, 2, 65, 66])), null, 'not page 0x80');
  assert.equal(parseVpdPage80(Buffer.from([0, 0x80, 0xff, 0xff, 65, 66])), 'AB', 'length past the end is cut');
  assert.equal(parseVpdPage80(Buffer.from([0, 0x80])), null);
  assert.equal(parseMeminfo('MemTotal: lots'), null);
  assert.deepEqual(parseCpuinfo(''), { model: null, count: 0 });
  assert.equal(readInventory('/nonexistent-lifeboat-root').disks.length, 0);
});
