import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import type { ProgressEvent } from '../../imaging/progress.js';
import type { MachineWithDisks } from '../../api/contract.js';
import { TwinClient, device, image, machine } from '../../../test/helpers/tui-twin.js';
import { KEY_HELP } from '../keymap.js';
import { App } from './App.js';

// Times show in the zone the console runs in: these tests run it in UTC.
process.env.TZ = 'UTC';

const ENTER = '\r';
const DOWN = '\x1b[B';
const ESC = '\x1b';
const caps = { ascii: false, color: false };
const fast = { backoffMs: () => 30, pollMs: 60_000 };
let app: ReturnType<typeof render> | null = null;

afterEach(() => {
  app?.unmount();
  app = null;
});

// Generous: a loaded CI machine (two cores, tests in parallel) can take seconds per frame; a pass returns at once.
async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${app?.lastFrame()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const frame = () => app?.lastFrame() ?? '';
const shows = (text: string) => until(`"${text}"`, () => frame().includes(text));
async function press(...keys: string[]) {
  for (const k of keys) {
    app?.stdin.write(k);
    await new Promise((r) => setTimeout(r, 15));
  }
}

function world(): TwinClient {
  const t = new TwinClient();
  t.machinesList = [machine('pc-01', 'm1', [{ path: '/dev/sda', serial: 'S1', size: 500e9 }]), machine('pc-02', 'm2', [{ path: '/dev/nvme0n1', serial: 'N1', size: 1e12 }, { path: '/dev/sdb', serial: 'TINY', size: 50e9 }])];
  t.imagesList = [image('20261125T100000Z-aaaaaaaa', { machineId: 'm1', diskSerial: 'S1', sourcePath: '/dev/sda', diskSize: 500e9, minTargetBytes: 200e9 })];
  t.devicesList = [device('/dev/sdx', 2e12)];
  t.jobsList = [{ id: 'j1', type: 'backup', state: 'running', machineId: 'm1', diskSerial: 'S1', createdAt: '2026-11-25T10:00:00Z', updatedAt: '2026-11-25T10:00:00Z', requestedBy: 'op' }];
  return t;
}

const progress = (bytesDone: number, rateBps: number): ProgressEvent => ({ type: 'progress', operation: 'backup', imageId: 'i', bytesDone, bytesTotal: 1000e6, bytesNew: 300e6, bytesReused: 200e6, bytesZero: 0, storedBytes: 150e6, chunksDone: 1, chunksTotal: 10, rateBps, avgBps: 80e6, ratio: 2, etaSeconds: 42, elapsedMs: 1000 });

describe('App', () => {
  it('shows machines with disks and docked devices, and the other screens', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-02');
    await shows('/dev/sdx');
    await shows('disk /dev/sda  Samsung SSD  serial S1');
    await press('2');
    await shows('20261125T100000Z-aaaaaaaa');
    await press('5');
    await shows('the appliance status could not be read: the daemon answered 404');
    await press('?');
    for (const [k] of KEY_HELP) await shows(k);
  });

  it('jobs: live progress, rates, ratio, new/reused, ETA, sparkline and log from events', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-01');
    await press('3');
    await shows('pc-01:S1');
    twin.emit({ type: 'job-progress', jobId: 'j1', progress: progress(250e6, 120e6) });
    twin.emit({ type: 'job-progress', jobId: 'j1', progress: progress(500e6, 60e6) });
    await shows('50%');
    assert.match(frame(), /60\.0\/80\.0/);
    assert.match(frame(), /x2\.00/);
    assert.match(frame(), /286M\/191M/);
    assert.match(frame(), /0m42s|\b42s/);
    assert.match(frame(), /MB\/s [▁-█]{2} peak 120\.0/);
    twin.jobsList = [{ ...(twin.jobsList[0] as (typeof twin.jobsList)[number]), state: 'done' }];
    twin.emit({ type: 'job-state', jobId: 'j1', state: 'done' });
    await shows('now done');
    await shows('100%');
  });

  it('restore onto another machine: identities side by side, the name must be typed', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-01');
    await press('2');
    await shows('aaaaaaaa');
    await press('r');
    await shows('onto which machine or docked disk');
    // Nothing is chosen for the operator: enter alone says so.
    assert.doesNotMatch(frame(), /> pc-0/);
    await press(ENTER);
    await shows('nothing is chosen yet');
    await press(DOWN, DOWN, ENTER);
    await shows('onto which disk of pc-02');
    // The 50 GB disk is too small for an image that needs 200 GB: the list says why, and it is refused before anything is sent.
    await shows('cannot: disk pc-02:/dev/sdb is 50.0');
    await press(DOWN, DOWN);
    await shows('needs 200 GB');
    assert.match(frame(), /^│ cannot: disk pc-02:\/dev\/sdb is 50\.0 GB; image \S+ needs 200 GB/m, 'the whole reason under the list');
    await press(ENTER);
    await shows('! disk pc-02:/dev/sdb');
    await press('k', ENTER);
    // How to restore: nothing chosen unless chosen; here verify and grow-last both.
    await shows('Restore options');
    await press(' ', DOWN, ' ', ENTER);
    await shows('RESTORE ONTO A DIFFERENT MACHINE OR DISK');
    await shows('Then: read back and verify, grow the last partition');
    assert.match(frame(), /SOURCE \(image\).*TARGET \(machine\)/);
    assert.match(frame(), /serial +S1 +serial +N1/);
    await press(...'pc-01', ENTER);
    await shows('type pc-02 exactly');
    assert.deepEqual(twin.calls, []);
    for (let i = 0; i < 5; i++) await press('\x7f');
    await press(...'pc-02', ENTER);
    await until('the job', () => twin.calls.length === 1);
    assert.deepEqual(twin.calls[0], ['createJob', { type: 'restore', image: '20261125T100000Z-aaaaaaaa', machine: 'pc-02', disk: 'N1', confirm: true, verify: true, growLast: true }]);
    await shows('restore onto pc-02: job job1 queued');
  });

  it('restore onto its own source asks y/n; n sends nothing', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-01');
    await press('2', 'r', DOWN, ENTER);
    await shows('onto which disk of pc-01');
    await press(DOWN, ENTER);
    await shows('Restore options');
    await press(ENTER);
    await shows('own source disk');
    await shows('Then: no verify, no growing');
    await press('n');
    await until('dialog closed', () => !frame().includes('own source disk'));
    assert.deepEqual(twin.calls, []);
  });

  it('backs up chosen disks and docked devices; w sends Wake-on-LAN after asking', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-02');
    await press('j', 'b');
    await shows('Back up which disks of pc-02');
    await press(ENTER);
    await shows('choose at least one disk');
    await press(' ', ENTER);
    // A label for the image, typed (j and k are letters here), then enter.
    await shows('label');
    await press(...'jk upgrade', ENTER);
    await until('the job', () => twin.calls.length === 1);
    assert.deepEqual(twin.calls[0], ['createJob', { type: 'backup', machine: 'pc-02', disk: 'N1', label: 'jk upgrade' }]);
    await press('j', 'b');
    await shows('Back up a docked disk');
    await press(ENTER);
    await until('the job', () => twin.calls.length === 2);
    assert.deepEqual(twin.calls[1], ['createJob', { type: 'backup', device: '/dev/sdx' }]);
    await press('g', 'w');
    await shows('Send Wake-on-LAN to');
    await press('y');
    await until('the wake', () => twin.calls.length === 3);
    assert.deepEqual(twin.calls[2], ['wakeMachine', 'pc-01']);
    await shows('Wake-on-LAN sent to pc-01');
  });

  it('a discovered machine shows as such with its boot stage; a approves it, i ignores it, each after asking', async () => {
    const twin = world();
    const found = twin.machinesList[1] as MachineWithDisks;
    found.status = 'discovered';
    found.bootStage = { stage: 'agent', at: '2026-12-03T10:00:00.000Z', detail: 'agent 0.1.0, 1 disk(s)' };
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('discovered');
    await press('j', ENTER);
    await shows('DISCOVERED by a network boot: a approves it, i ignores it');
    await shows('network boot reached agent 2026-12-03 10:00 UTC (agent 0.1.0, 1 disk(s))');
    await press(ESC, 'a');
    await shows('Take pc-02');
    await press('y');
    await until('the approval', () => twin.calls.length === 1);
    assert.deepEqual(twin.calls[0], ['editMachine', { name: 'pc-02', status: null }]);
    await shows('machine pc-02 approved');
    await press('i');
    await shows('Ignore pc-02');
    await press('y');
    await until('the ignore', () => twin.calls.length === 2);
    assert.deepEqual(twin.calls[1], ['editMachine', { name: 'pc-02', status: 'ignored' }]);
  });

  it('cancel asks first; quitting never cancels', async () => {
    const twin = world();
    let quit = 0;
    app = render(<App client={twin} caps={caps} daemon={fast} onQuit={() => quit++} />);
    await shows('pc-01');
    await press('3', 'c');
    await shows('Cancel job j1');
    await press('n');
    assert.deepEqual(twin.calls, []);
    await press('c', 'y');
    await until('cancel', () => twin.calls.length === 1);
    assert.deepEqual(twin.calls[0], ['cancelJob', 'j1']);
    await press('q');
    await until('quit', () => quit === 1);
    assert.equal(twin.calls.length, 1);
  });

  it('the selection follows its job when a new job arrives on top', async () => {
    const twin = world();
    twin.jobsList.push({ id: 'j0', type: 'verify', state: 'done', imageId: '20261125T100000Z-aaaaaaaa', createdAt: '2026-11-24T10:00:00Z', updatedAt: '2026-11-24T10:00:00Z', requestedBy: 'op' });
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-01');
    await press('3', 'j');
    await shows('j0  verify');
    twin.jobsList = [{ id: 'j2', type: 'backup', state: 'queued', devicePath: '/dev/sdx', createdAt: '2026-11-25T11:00:00Z', updatedAt: '2026-11-25T11:00:00Z', requestedBy: 'op' }, ...twin.jobsList];
    twin.emit({ type: 'job-state', jobId: 'j2', state: 'queued' });
    await shows('/dev/sdx');
    assert.match(frame(), /j0 {2}verify/);
    await press('c');
    await shows('already done');
  });

  it('v verifies an image; d asks before deleting it', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-01');
    await press('2', 'v');
    await until('verify job', () => twin.calls.length === 1);
    assert.deepEqual(twin.calls[0], ['createJob', { type: 'verify', image: '20261125T100000Z-aaaaaaaa' }]);
    await press('d');
    await shows('Delete image 20261125T100000Z-aaaaaaaa');
    await press(ENTER, 'x');
    assert.equal(twin.calls.length, 1, 'only y deletes');
    await press('y');
    await until('removal', () => twin.calls.length === 2);
    assert.deepEqual(twin.calls[1], ['removeImage', '20261125T100000Z-aaaaaaaa']);
  });

  it('/ filters the list', async () => {
    app = render(<App client={world()} caps={caps} daemon={fast} />);
    await shows('pc-02');
    await press('/', ...'02', ENTER);
    await until('filtered', () => !frame().includes('pc-01  ') && frame().includes('filter: 02'));
    await press(ESC);
    await shows('pc-01');
  });

  it('starts without a daemon: reconnecting with the reason, then online when it comes up', async () => {
    const twin = world();
    twin.up = false;
    app = render(<App client={twin} caps={caps} daemon={{ ...fast, backoffMs: () => 200 }} />);
    await shows('reconnecting… attempt 1');
    assert.match(frame(), /not reachable at twin\.sock/);
    twin.up = true;
    await shows('pc-01');
    await shows('online');
  });

  it('daemon gone: reconnecting, then back online with the lists fetched again and the stream re-joined', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('online');
    assert.equal(twin.subscribers, 1);
    twin.down();
    await shows('reconnecting…');
    await shows('OFFLINE');
    twin.machinesList.push(machine('pc-03', 'm3'));
    twin.up = true;
    await shows('pc-03');
    await shows('online');
    assert.equal(twin.subscribers, 1);
  });

  it('n adds a machine through a form; a refused one keeps what was typed with the reason; e edits name, MACs, group and notes', async () => {
    const twin = world();
    app = render(<App client={twin} caps={caps} daemon={fast} />);
    await shows('pc-02');
    await press('n');
    await shows('New machine');
    // Typed in one burst, as a paste or tmux would send it.
    app.stdin.write('kiosk-3');
    await shows('kiosk-3');
    await press(ENTER);
    await shows('a machine needs at least one MAC address');
    assert.deepEqual(twin.calls, [], 'nothing sent without a MAC');
    await press('\t');
    app.stdin.write('52:54:00:12:34:zz');
    await press(ENTER);
    await shows('MAC address 52:54:00:12:34:zz is not six hex pairs: correct it and press enter again');
    assert.match(frame(), /kiosk-3/, 'the name typed is still there');
    await press('\x7f', '\x7f', ...'56', '\t');
    app.stdin.write('lab');
    await press(DOWN);
    app.stdin.write('by the window');
    await press(ENTER);
    await shows('machine kiosk-3 added (52:54:00:12:34:56)');
    assert.deepEqual(twin.calls.at(-1), ['addMachine', { name: 'kiosk-3', macs: ['52:54:00:12:34:56'], group: 'lab', notes: 'by the window' }]);
    await shows('kiosk-3');
    // e on pc-01: the fields come filled in; only what changed is sent.
    await press('g', 'e');
    await shows('Edit machine pc-01');
    await press('\t', '\t');
    app.stdin.write('office');
    await press(ENTER);
    await shows('machine pc-01 saved');
    assert.deepEqual(twin.calls.at(-1), ['editMachine', { name: 'pc-01', group: 'office' }]);
  });
});
