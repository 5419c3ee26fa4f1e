// The SSH snippet for operators (appliance/sshd_config.d/lifeboat.conf) checked by the real
// sshd (Debian package openssh-server): it parses, a member of the lifeboat group gets the
// console as a forced command with no forwarding, and anyone else keeps a normal shell.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, sh, tempDir } from './helpers/cli.js';

const SSHD = '/usr/sbin/sshd';
const skip = !existsSync(SSHD) ? 'openssh-server is not installed (make apt installs it)' : process.getuid?.() !== 0 ? 'needs root to add a test user' : false;

/** `sshd -T` for a connection by `user`: the effective settings, keyword → value. */
function effective(config: string, user: string): Map<string, string> {
  const r = spawnSync(SSHD, ['-T', '-f', config, '-C', `user=${user},host=client.example,addr=192.0.2.1`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return new Map(r.stdout.split('\n').map((line) => [line.split(' ')[0] as string, line.slice(line.indexOf(' ') + 1)]));
}

test('sshd accepts the operator snippet: the lifeboat group gets the console and no forwarding, others keep their shell', { skip }, () => {
  const t = tempDir('lifeboat-sshd-');
  // A group and user of the test's own: the real `lifeboat` group would change how daemons
  // that other tests start at the same time set up their sockets.
  const group = `lbsshg${process.pid}`;
  const user = `lbssh${process.pid}`;
  try {
    sh(`groupadd ${group} && useradd -M -N -G ${group} -s /bin/sh ${user}`);
    sh(`ssh-keygen -q -t ed25519 -N '' -f ${t.dir}/host_key`);
    mkdirSync('/run/sshd', { recursive: true }); // sshd -t insists on its privilege-separation directory
    const snippet = readFileSync(join(REPO, 'appliance/sshd_config.d/lifeboat.conf'), 'utf8');
    assert.match(snippet, /^Match Group lifeboat$/m);
    writeFileSync(join(t.dir, 'lifeboat.conf'), snippet.replace(/^Match Group lifeboat$/m, `Match Group ${group}`));
    const config = join(t.dir, 'sshd_config');
    writeFileSync(config, `HostKey ${t.dir}/host_key\nInclude ${t.dir}/lifeboat.conf\n`);

    const check = spawnSync(SSHD, ['-t', '-f', config], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stderr.trim(), '', 'no warnings');

    const operator = effective(config, user);
    assert.equal(operator.get('forcecommand'), '/usr/local/bin/lifeboat tui');
    assert.equal(operator.get('permittty'), 'yes');
    for (const off of ['allowtcpforwarding', 'allowstreamlocalforwarding', 'allowagentforwarding', 'x11forwarding', 'permittunnel']) assert.equal(operator.get(off), 'no', off);

    const admin = effective(config, 'root');
    assert.equal(admin.get('forcecommand'), 'none', 'an administrator outside the group keeps a shell');
  } finally {
    spawnSync('userdel', [user]);
    spawnSync('groupdel', [group]);
    t.cleanup();
  }
});
