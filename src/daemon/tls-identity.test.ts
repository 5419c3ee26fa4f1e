import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { CERT_FILE, KEY_FILE, loadTlsIdentity, subjectNames } from './tls-identity.js';

const root = mkdtempSync(join(tmpdir(), 'lifeboat-tls-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const names = () => ({ dnsNames: ['lifeboat-test'], ipAddresses: ['10.217.0.1'] });
const fresh = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const files = (d: string) => [readFileSync(join(d, 'tls', KEY_FILE)), readFileSync(join(d, 'tls', CERT_FILE))];

/** Loading must fail with a user error matching `re`, and leave both files as they were. */
function refuses(d: string, re: RegExp): void {
  const before = files(d).map((b) => b.toString('hex'));
  assert.throws(
    () => loadTlsIdentity(d, names),
    (err: unknown) => err instanceof LifeboatError && err.kind === 'user' && re.test(err.message) && /move it aside \(mv .*tls .*tls\.old\)/.test(err.message),
  );
  assert.deepEqual(files(d).map((b) => b.toString('hex')), before, 'nothing was replaced');
}

test('first start makes a key (0600) and a certificate (0644); later starts read the same one', () => {
  const d = fresh();
  const made = loadTlsIdentity(d, names);
  assert.equal(made.created, true);
  assert.match(made.fingerprint, /^[0-9a-f]{64}$/);
  assert.match(made.display, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(statSync(join(d, 'tls', KEY_FILE)).mode & 0o777, 0o600);
  assert.equal(statSync(join(d, 'tls', CERT_FILE)).mode & 0o777, 0o644);
  assert.equal(statSync(join(d, 'tls', KEY_FILE)).uid, process.getuid?.());
  const openssl = execFileSync('openssl', ['x509', '-in', join(d, 'tls', CERT_FILE), '-noout', '-fingerprint', '-sha256', '-ext', 'subjectAltName'], { encoding: 'utf8' });
  assert.match(openssl, new RegExp(`Fingerprint=${made.display}`));
  assert.match(openssl, /DNS:lifeboat-test, IP Address:10\.217\.0\.1/);
  const again = loadTlsIdentity(d, () => assert.fail('names are only asked for a new certificate'));
  assert.deepEqual([again.created, again.fingerprint, again.key], [false, made.fingerprint, made.key]);
});

test('a crash while making one leaves only a staging directory, removed at the next start', () => {
  const d = fresh();
  mkdirSync(join(d, '.tls-new-abc123'));
  writeFileSync(join(d, '.tls-new-abc123', KEY_FILE), 'half');
  const made = loadTlsIdentity(d, names);
  assert.equal(made.created, true);
  assert.throws(() => statSync(join(d, '.tls-new-abc123')), /ENOENT/);
});

test('a damaged, mismatched, exposed or missing file stops the start with advice and is never replaced', () => {
  const base = fresh();
  loadTlsIdentity(base, names);
  const copy = () => {
    const d = fresh();
    cpSync(join(base, 'tls'), join(d, 'tls'), { recursive: true, preserveTimestamps: true });
    return d;
  };
  let d = copy();
  writeFileSync(join(d, 'tls', KEY_FILE), readFileSync(join(d, 'tls', KEY_FILE), 'utf8').slice(0, 120));
  refuses(d, /TLS key .*agent-key\.pem is damaged/);
  d = copy();
  writeFileSync(join(d, 'tls', CERT_FILE), 'not a certificate\n');
  refuses(d, /TLS certificate .*agent-cert\.pem is damaged/);
  d = copy();
  const other = fresh();
  loadTlsIdentity(other, names);
  writeFileSync(join(d, 'tls', CERT_FILE), readFileSync(join(other, 'tls', CERT_FILE)));
  refuses(d, /does not belong to the certificate/);
  d = copy();
  chmodSync(join(d, 'tls', KEY_FILE), 0o644);
  refuses(d, /readable or writable by others \(mode 0644\): chmod 600/);
  d = copy();
  const key = readFileSync(join(d, 'tls', KEY_FILE));
  unlinkSync(join(d, 'tls', CERT_FILE));
  assert.throws(() => loadTlsIdentity(d, names), /TLS certificate .*agent-cert\.pem is missing while .*tls exists/);
  assert.ok(readFileSync(join(d, 'tls', KEY_FILE)).equals(key), 'the key is kept');
  d = fresh();
  writeFileSync(join(d, 'tls'), 'a file where the directory should be');
  assert.throws(() => loadTlsIdentity(d, names), /tls should be the directory .* but is not a directory/);
});

test('fuzz: any byte of the key or certificate changed either loads what is there or is a user error; the files stay', () => {
  const base = fresh();
  const good = loadTlsIdentity(base, names);
  const d = fresh();
  for (let i = 0; i < 150; i++) {
    rmSync(join(d, 'tls'), { recursive: true, force: true });
    cpSync(join(base, 'tls'), join(d, 'tls'), { recursive: true });
    const which = i % 2 === 0 ? KEY_FILE : CERT_FILE;
    const path = join(d, 'tls', which);
    const bytes = readFileSync(path);
    const at = Math.floor(Math.random() * bytes.length);
    bytes[at] = (bytes[at] as number) ^ (1 + Math.floor(Math.random() * 255));
    if (i % 7 === 3) writeFileSync(path, bytes.subarray(0, at));
    else writeFileSync(path, bytes);
    const written = readFileSync(path);
    try {
      const id = loadTlsIdentity(d, names);
      // only a change the parsers ignore (PEM whitespace, a base64 bit past the end) may pass, and then nothing changed
      assert.equal(id.fingerprint, good.fingerprint, `byte ${at} of ${which}`);
    } catch (err) {
      assert.ok(err instanceof LifeboatError && err.kind === 'user', `byte ${at} of ${which}: ${(err as Error).stack}`);
    }
    assert.ok(readFileSync(path).equals(written), 'the file was not replaced');
  }
});

test('subject names: a DNS host name and the non-loopback, non-link-local addresses', () => {
  const ifaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [
      { address: '10.0.0.5', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '52:54:00:00:00:01', internal: false, cidr: '10.0.0.5/24' },
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' as const, mac: '52:54:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
      { address: 'fd00::5', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' as const, mac: '52:54:00:00:00:01', internal: false, cidr: 'fd00::5/64', scopeid: 0 },
    ],
  };
  assert.deepEqual(subjectNames('lifeboat', ifaces), { dnsNames: ['lifeboat'], ipAddresses: ['10.0.0.5', 'fd00::5'] });
  assert.deepEqual(subjectNames('bad_name!', {}), { dnsNames: [], ipAddresses: [] });
});
