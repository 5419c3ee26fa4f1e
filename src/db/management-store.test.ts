import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Datastore from 'nedb-promises';
import { LifeboatError } from '../errors.js';
import { COLLECTIONS, type ManagementStore, type OpenOptions, openManagementStore } from './index.js';
import { TestClock, managementStoreSuite } from './management-store.suite.js';

managementStoreSuite('memory', async (options) => ({ store: await openManagementStore(null, options), cleanup: async () => {} }));

managementStoreSuite('disk', async (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-db-'));
  let current = await openManagementStore(dir, options);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await openManagementStore(dir, options);
      return current;
    },
    cleanup: async () => {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// ---------------------------------------------------------------- on disk only

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-db-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const open = (dir: string, options: OpenOptions = {}) => openManagementStore(dir, { now: new TestClock().now, ...options });
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
const copies = (dir: string) => readdirSync(dir).filter((f) => f.includes('.corrupt-'));

async function threeMachines(dir: string): Promise<void> {
  const store = await open(dir);
  for (const n of [1, 2, 3]) await store.machines.add({ name: `pc-${n}`, macs: [`52:54:00:00:00:0${n}`] });
  await store.close();
}

test('disk: data survives close and reopen; close leaves one line per document', async () => {
  await withDir(async (dir) => {
    const store = await open(dir);
    const m = await store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'] });
    await store.machines.edit('pc-1', { notes: 'edited' });
    await store.machines.edit('pc-1', { notes: 'edited twice' });
    await store.close();
    const file = join(dir, 'machines.db');
    const docs = lines(file).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(docs.filter((d) => d._id === m.id).length, 1, 'compacted on close');
    assert.ok(docs.some((d) => d.$$indexCreated), 'indexes are kept in the file');
    const again = await open(dir);
    assert.equal((await again.machines.getByName('pc-1')).notes, 'edited twice');
    assert.deepEqual(again.datafiles.map((r) => r.copy), COLLECTIONS.map(() => null));
    await again.close();
  });
});

test('disk: a corrupt line is reported with file and line, and nothing is changed without repair', async () => {
  await withDir(async (dir) => {
    await threeMachines(dir);
    const file = join(dir, 'machines.db');
    const good = lines(file);
    const damaged = [good[0], '{"_id":"x","name":"pc-2","ma\u0000\u0000cs":', ...good.slice(2)].join('\n') + '\n';
    writeFileSync(file, damaged);
    await assert.rejects(open(dir), (e: unknown) => {
      assert.ok(e instanceof LifeboatError && e.kind === 'integrity');
      assert.match(e.message, /has damaged lines, so it was not opened \(nothing was changed\)/);
      assert.match(e.message, new RegExp(`${file.replace(/[.]/g, '\\.')} line 2: not valid JSON`));
      assert.match(e.message, /\\u0000/, 'the excerpt shows control bytes');
      assert.match(e.message, /--repair-db/);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), damaged, 'file untouched');
    assert.deepEqual(copies(dir), []);
  });
});

test('disk: repair keeps a copy of the file, drops the bad line and says so', async () => {
  await withDir(async (dir) => {
    await threeMachines(dir);
    const file = join(dir, 'machines.db');
    const good = lines(file);
    const damaged = [good[0], 'garbage', ...good.slice(2)].join('\n') + '\n';
    writeFileSync(file, damaged);
    const warnings: string[] = [];
    const store = await open(dir, { repair: true, onWarning: (w) => warnings.push(w) });
    const [copy] = copies(dir);
    assert.ok(copy, 'a copy was kept');
    assert.match(copy, /^machines\.db\.corrupt-\d{8}T\d{6}\.\d{3}Z$/);
    assert.equal(readFileSync(join(dir, copy), 'utf8'), damaged, 'the copy is the damaged original');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /repaired .*machines\.db \(original kept as .*corrupt.*\)[\s\S]*line 2: not valid JSON/);
    const report = store.datafiles.find((r) => r.file === file);
    assert.deepEqual(report?.problems.map((p) => p.line), [2]);
    assert.equal(report?.copy, join(dir, copy));
    const names = (await store.machines.list()).map((m) => m.name);
    assert.equal(names.length, 2, `the other machines are there: ${names.join(', ')}`);
    await store.close();
    const clean = await open(dir);
    assert.ok(clean.datafiles.every((r) => r.problems.length === 0 && r.copy === null));
    await clean.close();
  });
});

test('NeDB alone: a cut-short last line is dropped silently under 10% of lines, and the whole file refused above', async () => {
  await withDir(async (dir) => {
    const many = join(dir, 'many.db');
    const docs = Array.from({ length: 20 }, (_, i) => JSON.stringify({ _id: `d${i}`, v: 1 }));
    writeFileSync(many, `${docs.join('\n')}\n{"_id":"d0","v":2`);
    const ds = Datastore.create({ filename: many });
    assert.deepEqual(await ds.findOne({ _id: 'd0' }), { _id: 'd0', v: 1 }, 'the cut-short update is gone, without a word');
    assert.equal(lines(many).length, 20, 'and NeDB rewrote the file without it');

    const few = join(dir, 'few.db');
    writeFileSync(few, '{"_id":"a"}\n{"_id":"b"}\n{"_id":"a","v');
    await assert.rejects(Datastore.create({ filename: few }).load(), /33% of the data file is corrupt/);

    const sep = join(dir, 'sep.db');
    const plain = Datastore.create({ filename: sep });
    await plain.insert({ _id: 'a', notes: 'one\u2028two' });
    await plain.insert({ _id: 'b' });
    await assert.rejects(Datastore.create({ filename: sep }).load(), /corrupt/, 'NeDB cannot read back its own U+2028');
  });
});

test('disk: a cut-short last line (crash mid-append) is dropped with a copy and a warning, no repair needed', async () => {
  await withDir(async (dir) => {
    const first = await open(dir);
    const m = await first.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'], notes: 'kept' });
    await first.close();
    const file = join(dir, 'machines.db');
    const half = JSON.stringify({ _id: m.id, name: 'pc-1', macs: m.macs, notes: 'lost update', createdAt: m.createdAt, updatedAt: m.updatedAt }).slice(0, 40);
    appendFileSync(file, half);
    const before = readFileSync(file);
    const warnings: string[] = [];
    const store = await open(dir, { onWarning: (w) => warnings.push(w) });
    assert.equal((await store.machines.getByName('pc-1')).notes, 'kept', 'the update that never finished is not there');
    assert.match(warnings.join('\n'), /machines\.db line \d+: not valid JSON.*\(the last line, cut short\)/);
    const [copy] = copies(dir);
    assert.ok(copy);
    assert.deepEqual(readFileSync(join(dir, copy)), before);
    await store.close();
  });
});

test('disk: notes with U+2028 survive; a file with raw separators from elsewhere is fixed without loss', async () => {
  await withDir(async (dir) => {
    const store = await open(dir);
    await assert.rejects(store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'], notes: 'c\u0085d' }), /control character \(U\+0085/);
    await store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'], notes: 'a\u2028b\u2029c' });
    await store.close();
    assert.doesNotMatch(readFileSync(join(dir, 'machines.db'), 'utf8'), /[\u2028\u2029\u0085]/);
    const again = await open(dir);
    assert.equal((await again.machines.getByName('pc-1')).notes, 'a\u2028b\u2029c');
    await again.close();

    const file = join(dir, 'machines.db');
    writeFileSync(file, readFileSync(file, 'utf8').replace('\\u2028', '\u2028'));
    const warnings: string[] = [];
    const fixed = await open(dir, { onWarning: (w) => warnings.push(w) });
    assert.equal((await fixed.machines.getByName('pc-1')).notes, 'a\u2028b\u2029c');
    assert.match(warnings.join('\n'), /raw U\+2028/);
    assert.equal(copies(dir).length, 1);
    await fixed.close();
  });
});

test('disk: duplicate unique values in a hand-edited file are refused with the file named', async () => {
  await withDir(async (dir) => {
    await threeMachines(dir);
    const file = join(dir, 'machines.db');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"name":"pc-2"', '"name":"pc-1"'));
    await assert.rejects(open(dir), (e: unknown) => e instanceof LifeboatError && e.kind === 'integrity' && e.message.includes(file) && /"pc-1"/.test(e.message));
  });
});

test('disk: NeDB’s temp file from a cut-short compaction is put back', async () => {
  await withDir(async (dir) => {
    await threeMachines(dir);
    renameSync(join(dir, 'machines.db'), join(dir, 'machines.db~'));
    const warnings: string[] = [];
    const store = await open(dir, { onWarning: (w) => warnings.push(w) });
    assert.equal((await store.machines.list()).length, 3);
    assert.match(warnings.join('\n'), /machines\.db~ from an interrupted compaction/);
    await store.close();
  });
});

test('disk: after a failed write (disk full) every write is refused until reopened', async () => {
  await withDir(async (dir) => {
    const store: ManagementStore = await open(dir);
    await store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'] });
    const file = join(dir, 'machines.db');
    unlinkSync(file);
    symlinkSync('/dev/full', file); // every append now fails with ENOSPC
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:02'] }), (e: unknown) => e instanceof LifeboatError && e.kind === 'user' && /no space left on device/.test(e.message));
    await assert.rejects(store.settings.patch({ dhcpMode: 'proxy' }), /refuses writes since an earlier write failed \(.*no space left.*\): fix that, then restart the daemon/);
    assert.equal((await store.machines.getByName('pc-1')).name, 'pc-1', 'reads still work');
    await store.close(); // no compaction onto the full disk
    assert.ok(existsSync(file));
  });
});
