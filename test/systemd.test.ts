// systemd-analyze verify on every unit in systemd/ (Debian package systemd). The units
// name /usr/local/bin/lifeboat; here they point at the built CLI so verify can check
// that the executable exists. A schedule instance gets its calendar as the drop-in
// `lifeboat schedule add` writes would give it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, REPO, tempDir } from './helpers/cli.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test('every unit in systemd/ passes systemd-analyze verify', { skip: hasAnalyze ? false : 'systemd-analyze is not installed' }, () => {
  const t = tempDir('lifeboat-units-');
  try {
    const units = readdirSync(join(REPO, 'systemd')).filter((f) => /\.(service|timer)$/.test(f));
    assert.ok(units.includes('lifeboat.service'));
    const checked: string[] = [];
    for (const unit of units) {
      const text = readFileSync(join(REPO, 'systemd', unit), 'utf8').replaceAll('/usr/local/bin/lifeboat', CLI);
      const name = unit.replace('@.', '@nightly.');
      writeFileSync(join(t.dir, name), text);
      if (name === 'lifeboat-schedule@nightly.timer') appendFileSync(join(t.dir, name), '\n[Timer]\nOnCalendar=*-*-* 02:00:00\n');
      checked.push(`./${name}`);
    }
    const r = spawnSync('systemd-analyze', ['verify', ...checked], { cwd: t.dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  } finally {
    t.cleanup();
  }
});

test('the daemon unit is hardened as the issue asks', () => {
  const unit = readFileSync(join(REPO, 'systemd', 'lifeboat.service'), 'utf8');
  for (const line of ['ProtectSystem=strict', 'ReadWritePaths=/var/lib/lifeboat /run/lifeboat', 'Restart=on-failure', 'NoNewPrivileges=yes']) assert.ok(unit.includes(line), line);
  const caps = /CapabilityBoundingSet=(.*)/.exec(unit)?.[1]?.split(/\s+/) ?? [];
  assert.ok(caps.includes('CAP_NET_BIND_SERVICE') && !caps.includes('CAP_SYS_MODULE') && !caps.includes('CAP_SYS_PTRACE'));
});
