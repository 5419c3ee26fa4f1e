// The lab's SMB server (smb-share.ts) against a real client: smbclient in the same namespace
// writes a file that must appear in the shared directory; a wrong password is refused; stop()
// leaves nothing listening.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from './cli.js';
import { startSmbShare } from './smb-share.js';

function inNs(ns: string, cmd: string, args: string[]) {
  return spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 30_000 });
}

test('smbd serves a private share in a namespace: a client writes a file there, a wrong password is refused', async () => {
  const work = tempDir('lifeboat-smb-');
  const ns = `lbs${process.pid % 100000}n`;
  const r = spawnSync('bash', ['-c', `ip netns add ${ns} && ip -n ${ns} link set lo up && ip -n ${ns} link add ${ns}b type bridge && ip -n ${ns} addr add 10.219.0.1/24 dev ${ns}b && ip -n ${ns} link set ${ns}b up`], { encoding: 'utf8' });
  try {
    assert.equal(r.status, 0, r.stderr);
    await withShare(ns, work.dir);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    work.cleanup();
  }
});

async function withShare(ns: string, dir: string): Promise<void> {
  const share = await startSmbShare({ ns, address: '10.219.0.1', dir, name: 'nas' });
  try {
    assert.equal(share.unc, '//10.219.0.1/nas');
    const local = join(dir, 'hello.txt');
    writeFileSync(local, `hello from ${process.pid}\n`);
    const put = inNs(ns, 'smbclient', [`//10.219.0.1/nas`, '-U', `${share.username}%${share.password}`, '-c', `put ${local} hello.txt`]);
    assert.equal(put.status, 0, `${put.stdout}${put.stderr}\n${share.log().slice(-1500)}`);
    assert.equal(readFileSync(join(share.dir, 'hello.txt'), 'utf8'), `hello from ${process.pid}\n`);

    const bad = inNs(ns, 'smbclient', [`//10.219.0.1/nas`, '-U', `${share.username}%wrong-${share.password}`, '-c', 'ls']);
    assert.notEqual(bad.status, 0);
    assert.match(`${bad.stdout}${bad.stderr}`, /NT_STATUS_LOGON_FAILURE/);
    assert.equal(existsSync(join(share.dir, 'other.txt')), false);
  } finally {
    await share.stop();
  }
  const after = inNs(ns, 'bash', ['-c', 'exec 3<>/dev/tcp/10.219.0.1/445']);
  assert.notEqual(after.status, 0, 'nothing listens on :445 after stop()');
}
