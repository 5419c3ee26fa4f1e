import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Schedule } from '../db/index.js';
import { dropInText, timerChanges, timerSync, timerUnit } from './schedule-timers.js';

const schedule = (name: string, calendar: string, enabled = true) => ({ id: name, name, calendar, enabled, target: { machines: ['pc'] }, retention: {}, createdAt: '', updatedAt: '' }) satisfies Schedule;

test('what changes: new and changed calendars written, gone and disabled schedules removed', () => {
  const current = new Map([
    [timerUnit('same'), dropInText({ name: 'same', calendar: 'daily' })],
    [timerUnit('changed'), dropInText({ name: 'changed', calendar: 'daily' })],
    [timerUnit('gone'), dropInText({ name: 'gone', calendar: 'daily' })],
    [timerUnit('off'), dropInText({ name: 'off', calendar: 'daily' })],
  ]);
  const c = timerChanges([schedule('same', 'daily'), schedule('changed', 'weekly'), schedule('new', 'Mon 02:00'), schedule('off', 'daily', false)], current);
  assert.deepEqual(c.write.map((w) => w.unit).sort(), ['lifeboat-schedule@changed.timer', 'lifeboat-schedule@new.timer']);
  assert.deepEqual(c.remove.sort(), ['lifeboat-schedule@gone.timer', 'lifeboat-schedule@off.timer']);
  assert.match(dropInText({ name: 'n', calendar: 'Mon 02:00' }), /^\[Timer\]\nOnCalendar=\nOnCalendar=Mon 02:00\n$/m);
  for (const calendar of ['daily\nUnit=reboot.target', 'daily \\', '%H:00', 'daily\r']) assert.throws(() => dropInText({ name: 'n', calendar }), /a unit file cannot hold/, JSON.stringify(calendar));
  assert.throws(() => dropInText({ name: '../x', calendar: 'daily' }), /a unit file cannot hold/);
});

test('drop-ins on disk: written, rewritten, removed; foreign drop-ins left alone; systemd-analyze accepts the result', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-timers-'));
  try {
    const sync = timerSync(dir, () => {}, false);
    assert.deepEqual(sync.sync([schedule('nightly', '*-*-* 02:00:00'), schedule('weekly', 'Sun 03:00')]), []);
    const file = join(dir, 'lifeboat-schedule@nightly.timer.d', 'lifeboat-calendar.conf');
    assert.match(readFileSync(file, 'utf8'), /OnCalendar=\*-\*-\* 02:00:00/);
    // An administrator's own drop-in for another timer of ours is not ours to remove.
    mkdirSync(join(dir, 'lifeboat-schedule@manual.timer.d'));
    writeFileSync(join(dir, 'lifeboat-schedule@manual.timer.d', 'override.conf'), '[Timer]\nOnCalendar=hourly\n');
    assert.deepEqual(sync.sync([schedule('nightly', '*-*-* 03:00:00')]), []);
    assert.match(readFileSync(file, 'utf8'), /OnCalendar=\*-\*-\* 03:00:00/);
    assert.ok(!existsSync(join(dir, 'lifeboat-schedule@weekly.timer.d')), 'a removed schedule loses its drop-in and its directory');
    assert.ok(existsSync(join(dir, 'lifeboat-schedule@manual.timer.d', 'override.conf')));
    assert.deepEqual(readdirSync(join(dir, 'lifeboat-schedule@nightly.timer.d')), ['lifeboat-calendar.conf'], 'no temp file left');

    if (spawnSync('systemd-analyze', ['--version']).status !== 0) return;
    // The template timer and service beside the drop-in, as systemd would load them.
    const repo = new URL('../../systemd/', import.meta.url).pathname;
    for (const u of ['lifeboat-schedule@.timer', 'lifeboat-schedule@.service', 'lifeboat.service']) writeFileSync(join(dir, u), readFileSync(join(repo, u), 'utf8').replaceAll('/usr/local/bin/lifeboat', '/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', 'lifeboat-schedule@nightly.timer'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` } });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    // Without the drop-in the timer has no trigger, and verify says so: the drop-in is what it read.
    rmSync(join(dir, 'lifeboat-schedule@nightly.timer.d'), { recursive: true });
    const bare = spawnSync('systemd-analyze', ['verify', 'lifeboat-schedule@nightly.timer'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` } });
    assert.notEqual(bare.status, 0, 'a timer without OnCalendar is refused');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
