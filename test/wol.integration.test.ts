// Wake-on-LAN on a real link: the sender in one network namespace, a listener on UDP 9 in
// another, a veth pair between them, a second link in the sender's namespace that must see
// nothing — all made and removed by the test.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, sh } from './helpers/cli.js';

function lines(child: ChildProcess): { got: Array<{ from: string; hex: string }>; ready: Promise<void> } {
  const got: Array<{ from: string; hex: string }> = [];
  let buf = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`listener exited (${code}) before listening`)));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as { listening?: boolean; from: string; hex: string };
        buf = buf.slice(nl + 1);
        if (line.listening) resolve();
        else got.push(line);
      }
    });
  });
  return { got, ready };
}

test('a magic packet reaches the boot network by its directed broadcast, and only that network', { timeout: 60_000 }, async () => {
  const tag = `lbw${process.pid % 100000}`;
  const [appliance, boot, office] = [`${tag}a`, `${tag}b`, `${tag}o`];
  const listeners: ChildProcess[] = [];
  try {
    sh(`ip netns add ${appliance} && ip netns add ${boot} && ip netns add ${office}`);
    sh(`ip link add ${tag}x netns ${appliance} type veth peer name ${tag}y netns ${boot}`);
    sh(`ip link add ${tag}p netns ${appliance} type veth peer name ${tag}q netns ${office}`);
    sh(`ip -n ${appliance} addr add 10.214.1.1/24 dev ${tag}x && ip -n ${appliance} link set ${tag}x up`);
    sh(`ip -n ${appliance} addr add 10.214.2.1/24 dev ${tag}p && ip -n ${appliance} link set ${tag}p up`);
    sh(`ip -n ${appliance} route add default via 10.214.2.2 dev ${tag}p`);
    sh(`ip -n ${boot} addr add 10.214.1.50/24 dev ${tag}y && ip -n ${boot} link set ${tag}y up`);
    sh(`ip -n ${office} addr add 10.214.2.2/24 dev ${tag}q && ip -n ${office} link set ${tag}q up`);
    const listen = (ns: string) => {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO, 'test/helpers/udp-listen.ts'), '9', '15'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      listeners.push(child);
      return lines(child);
    };
    const onBoot = listen(boot);
    const onOffice = listen(office);
    await Promise.all([onBoot.ready, onOffice.ready]);
    sh(`ip netns exec ${appliance} ${process.execPath} --import tsx ${join(REPO, 'test/helpers/wol-send.ts')} 10.214.1.1 10.214.1.255 9 52:54:00:12:34:56 52:54:00:ab:cd:ef`);
    await new Promise((r) => setTimeout(r, 500));
    const magic = (mac: string) => `${'ff'.repeat(6)}${mac.replaceAll(':', '').repeat(16)}`;
    assert.deepEqual(new Set(onBoot.got.map((g) => g.hex)), new Set([magic('52:54:00:12:34:56'), magic('52:54:00:ab:cd:ef')]));
    assert.ok(onBoot.got.every((g) => g.from === '10.214.1.1'));
    assert.deepEqual(onOffice.got, [], 'nothing leaves by the other link (the default route)');
  } finally {
    for (const l of listeners) l.kill();
    for (const ns of [appliance, boot, office]) sh(`ip netns del ${ns} 2>/dev/null || true`);
  }
});
