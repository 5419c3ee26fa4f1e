import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { type BootParams, decodeParams, encodeParams, encodeParamsFile, kernelCommandLine } from './params.js';

const FP = 'ab'.repeat(32);
const good: BootParams = { url: 'https://192.168.1.10:8443/', token: 'tok_0123456789abcdef', fingerprint: FP, network: null, debug: false };

test('kernel command line: initrd= for EFI-stub boots, consoles on screen and serial, the parameters; decodes back', () => {
  const line = kernelCommandLine(good, { initrd: 'initrd.img' });
  assert.equal(line, `initrd=initrd.img console=tty0 console=ttyS0,115200n8 lifeboat.url=https://192.168.1.10:8443/ lifeboat.token=tok_0123456789abcdef lifeboat.fp=${FP}`);
  assert.deepEqual(decodeParams(`BOOT_IMAGE=/vmlinuz ro quiet ${line}\n`), good);
});

test('embedded file form and static network round trip; colon fingerprints are normalized', () => {
  const p: BootParams = { ...good, fingerprint: FP.toUpperCase().match(/../g)!.join(':'), network: { address: '10.1.2.3/16', gateway: '10.1.0.1', dns: ['10.1.0.2', '9.9.9.9'] }, debug: true };
  const file = encodeParamsFile(p);
  assert.equal(file.split('\n').length, 8);
  assert.deepEqual(decodeParams(file), { ...p, fingerprint: FP });
  assert.equal(encodeParams(decodeParams(file)), encodeParams(p));
});

const bad: [string, string, RegExp][] = [
  ['missing token', 'lifeboat.url=http://10.0.2.2:8080', /lifeboat\.token is missing/],
  ['missing url', 'lifeboat.token=tok_0123456789abcdef', /lifeboat\.url is missing/],
  ['malformed url', 'lifeboat.url=htp:/x lifeboat.token=tok_0123456789abcdef', /lifeboat\.url must be http/],
  ['not a url', 'lifeboat.url=::: lifeboat.token=tok_0123456789abcdef', /is not a URL/],
  ['credentials in url', 'lifeboat.url=http://u:p@h/ lifeboat.token=tok_0123456789abcdef', /user name or password/],
  ['wrong fingerprint', `lifeboat.url=https://h/ lifeboat.token=tok_0123456789abcdef lifeboat.fp=${FP.slice(2)}`, /lifeboat\.fp must be the SHA-256/],
  ['https without fingerprint', 'lifeboat.url=https://h/ lifeboat.token=tok_0123456789abcdef', /lifeboat\.fp .* is missing/],
  ['short token', 'lifeboat.url=http://h/ lifeboat.token=abc', /lifeboat\.token must be 16/],
  ['unknown key', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.shell=1', /unknown parameter lifeboat\.shell/],
  ['twice', 'lifeboat.url=http://h/ lifeboat.url=http://g/ lifeboat.token=tok_0123456789abcdef', /given twice/],
  ['bad ip', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.ip=10.0.0.300/24', /not an IPv4/],
  ['ip without prefix', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.ip=10.0.0.3', /address\/prefix/],
  ['gw without ip', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.gw=10.0.0.1', /need lifeboat\.ip/],
  ['debug value', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.debug=yes', /0 or 1/],
  ['selftest value', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.selftest=yes', /lifeboat\.selftest must be 0 or 1/],
  ['retry below the range', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=4', /lifeboat\.retry must be a whole number of seconds from 5 to 3600 .*got "4": set agent\.retrySeconds/],
  ['retry above the range', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=3601', /lifeboat\.retry must be .*got "3601"/],
  ['retry not digits', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=1e2', /lifeboat\.retry must be .*got "1e2"/],
  ['retry negative', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=-30', /lifeboat\.retry must be .*got "-30"/],
  ['retry fraction', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=7.5', /lifeboat\.retry must be .*got "7\.5"/],
  ['retry empty', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=', /lifeboat\.retry must be .*got ""/],
  ['retry twice', 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=10 lifeboat.retry=20', /lifeboat\.retry is given twice/],
];

test('lifeboat.retry: the agent\'s retry window in whole seconds, on the command line and in the file; absent when not given', () => {
  const line = kernelCommandLine({ ...good, retrySeconds: 15 });
  assert.match(line, / lifeboat\.retry=15$/);
  assert.deepEqual(decodeParams(line), { ...good, retrySeconds: 15 });
  assert.deepEqual(decodeParams(encodeParamsFile({ ...good, retrySeconds: 3600 })), { ...good, retrySeconds: 3600 });
  assert.deepEqual(decodeParams('lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef lifeboat.retry=0005'), { ...good, url: 'http://h/', fingerprint: null, retrySeconds: 5 });
  assert.equal('retrySeconds' in decodeParams(kernelCommandLine(good)), false);
  assert.doesNotMatch(kernelCommandLine(good), /retry/);
  for (const bad of [4, 3601, 1.5, Number.NaN, -60]) assert.throws(() => encodeParams({ ...good, retrySeconds: bad }), /lifeboat\.retry must be a whole number/, String(bad));
});

test("lifeboat.selftest=1 (/init's switch) is accepted beside the agent's parameters and changes none of them", () => {
  const line = 'lifeboat.url=http://h/ lifeboat.token=tok_0123456789abcdef';
  assert.deepEqual(decodeParams(`${line} lifeboat.selftest=1`), decodeParams(line));
});
for (const [name, text, message] of bad) {
  test(`bad parameters: ${name} gives a clear error`, () => {
    assert.throws(() => decodeParams(text), (e: unknown) => e instanceof LifeboatError && e.kind === 'user' && e.message.startsWith('boot parameters: ') && message.test(e.message));
  });
}

test('encode refuses what it could not put on a command line', () => {
  assert.throws(() => encodeParams({ ...good, url: 'http://h/a b' }), /not a URL/);
  assert.throws(() => encodeParams({ ...good, token: 'a"b'.repeat(8) }), /lifeboat\.token/);
  assert.throws(() => kernelCommandLine(good, { initrd: '../x' }), /plain file name/);
});

test('fuzz: decodeParams only ever throws a boot-parameters error', () => {
  const base = kernelCommandLine({ ...good, network: { address: '10.0.0.5/24', gateway: '10.0.0.1', dns: ['10.0.0.1'] }, debug: true, retrySeconds: 20 });
  const alphabet = 'lifeboat.urltokenfpgwdnsipretry=:/ .,0123456789abcdefhtps-+e\u0000\u00ff\n\t%[]@';
  for (let i = 0; i < 20000; i++) {
    let text: string;
    if (i % 3 === 0) text = randomBytes(i % 200).toString('latin1');
    else if (i % 3 === 1) text = Array.from({ length: i % 120 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
    else {
      const chars = [...base];
      for (let k = 0; k < 1 + (i % 5); k++) chars[Math.floor(Math.random() * chars.length)] = alphabet[Math.floor(Math.random() * alphabet.length)]!;
      text = chars.join('');
    }
    try {
      const p = decodeParams(text);
      assert.equal(typeof p.url, 'string');
      if (p.retrySeconds !== undefined) assert.ok(Number.isSafeInteger(p.retrySeconds) && p.retrySeconds >= 5 && p.retrySeconds <= 3600, `retry ${p.retrySeconds}`);
      assert.deepEqual(decodeParams(encodeParams(p)), p, 'what decodes re-encodes to the same');
    } catch (e) {
      assert.ok(e instanceof LifeboatError && e.message.startsWith('boot parameters: '), `${JSON.stringify(text)}: ${String(e)}`);
    }
  }
});
