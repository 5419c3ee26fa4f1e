import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { destinationProblem, destinationText, locationOf, parseDestination } from './destination.js';
import { NewJobBody } from './schemas.js';

test('--to: the four forms parse, and print back as written', () => {
  assert.equal(parseDestination('appliance'), null);
  assert.deepEqual(parseDestination('disk:LABEL=LBUSB'), { kind: 'client-disk', label: 'LBUSB' });
  assert.deepEqual(parseDestination('disk:label=my-usb.1'), { kind: 'client-disk', label: 'my-usb.1' });
  assert.deepEqual(parseDestination('disk:UUID=0B5A9C1E-7E8F-4B6A-9D3C-2F1E0A9B8C7D'), { kind: 'client-disk', uuid: '0b5a9c1e-7e8f-4b6a-9d3c-2f1e0a9b8c7d' });
  assert.deepEqual(parseDestination('disk:UUID=1A2B-3C4D'), { kind: 'client-disk', uuid: '1a2b-3c4d' });
  assert.deepEqual(parseDestination('share:nas'), { kind: 'share', name: 'nas' });
  for (const t of ['appliance', 'disk:LABEL=LBUSB', 'disk:UUID=1a2b-3c4d', 'share:nas_2']) assert.equal(destinationText(parseDestination(t)), t);
  assert.equal(locationOf(parseDestination('disk:LABEL=LBUSB')), 'client-disk LABEL=LBUSB');
  assert.equal(locationOf(parseDestination('share:nas')), 'share nas');
  assert.equal(locationOf(null), null);
});

test('--to: what is wrong is said, with the forms to use', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /not one of .*appliance.*disk:LABEL/],
    ['usb', /not one of/],
    ['disk:', /disk:LABEL=<label> or disk:UUID=<uuid>/],
    ['disk:PARTUUID=abc', /disk:LABEL=<label> or disk:UUID=<uuid>/],
    ['disk:LABEL=', /1 to 16 letters/],
    ['disk:LABEL=a label', /1 to 16 letters/],
    ['disk:LABEL=$(reboot)', /1 to 16 letters/],
    ['disk:LABEL=seventeen-chars-x', /1 to 16 letters/],
    ['disk:UUID=not-a-uuid', /UUID looks like/],
    ['share:', /share is named/],
    ['share:../etc', /share is named/],
    ['x'.repeat(500), /not one of/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseDestination(text), (e: unknown) => e instanceof LifeboatError && e.kind === 'usage' && why.test(e.message), text);
    assert.match(destinationProblem(text) ?? '', why);
  }
});

test('fuzz: any text parses or is refused with a usage error, never anything else', () => {
  for (let i = 0; i < 3000; i++) {
    const base = ['disk:LABEL=', 'disk:UUID=', 'share:', 'appliance', ''][i % 5] as string;
    const text = base + randomBytes(i % 24).toString(i % 2 ? 'latin1' : 'base64');
    try {
      const d = parseDestination(text);
      if (d) assert.deepEqual(parseDestination(destinationText(d)), d);
    } catch (err) {
      assert.ok(err instanceof LifeboatError && err.kind === 'usage', String(err));
    }
  }
});

test('the API body: destination only on a machine backup, never with a passphrase; garbage refused', () => {
  assert.ok(NewJobBody.safeParse({ type: 'backup', machine: 'a', destination: 'disk:LABEL=LBUSB' }).success);
  assert.ok(NewJobBody.safeParse({ type: 'backup', device: '/dev/sdb', destination: 'appliance' }).success);
  const refused = (body: unknown, why: RegExp) => {
    const r = NewJobBody.safeParse(body);
    assert.ok(!r.success, JSON.stringify(body));
    assert.match(r.error.issues.map((i) => i.message).join('; '), why);
  };
  refused({ type: 'backup', device: '/dev/sdb', destination: 'disk:LABEL=X' }, /machine's backup/);
  refused({ type: 'backup', machine: 'a', destination: 'disk:LABEL=X', passphrase: 'p' }, /no passphrase/);
  refused({ type: 'backup', machine: 'a', destination: 'usb' }, /not one of/);
  refused({ type: 'backup', machine: 'a', destination: { kind: 'client-disk', label: 'X' } }, /string/i);
  refused({ type: 'restore', image: '20261125T181200Z-3fa9c2d1', machine: 'a', confirm: true, destination: 'disk:LABEL=X' }, /unrecognized|destination/i);
});
