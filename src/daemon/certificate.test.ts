import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NO_EXPIRY, colonFingerprint, fingerprintOf, integer, ipBytes, oid, pem, selfSignedCertificate, time, tlv } from './certificate.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Buffer) => b.toString('hex');

test('DER primitives: short and long lengths, minimal positive integers, OIDs, times', () => {
  assert.equal(hex(tlv(0x04, Buffer.alloc(0x7f))).slice(0, 4), '047f');
  assert.equal(hex(tlv(0x04, Buffer.alloc(0x80))).slice(0, 6), '048180');
  assert.equal(hex(tlv(0x04, Buffer.alloc(0x100))).slice(0, 8), '04820100');
  assert.equal(hex(tlv(0x04, Buffer.alloc(0x10000))).slice(0, 10), '0483010000');
  assert.equal(hex(integer(Buffer.from([0]))), '020100');
  assert.equal(hex(integer(Buffer.from([0, 0, 5]))), '020105');
  assert.equal(hex(integer(Buffer.from([0x80]))), '02020080');
  assert.equal(hex(integer(Buffer.from([0x7f, 0xff]))), '02027fff');
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302'); // ecdsa-with-SHA256 (RFC 5758)
  assert.equal(hex(oid('2.5.29.17')), '0603551d11');
  assert.equal(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
  assert.equal(time(new Date(Date.UTC(2026, 11, 3, 14, 5, 9))).toString('latin1', 2), '261203140509Z');
  assert.equal(time(new Date(Date.UTC(2026, 11, 3)))[0], 0x17, 'UTCTime before 2050');
  assert.equal(time(NO_EXPIRY)[0], 0x18, 'GeneralizedTime from 2050');
  assert.equal(time(NO_EXPIRY).toString('latin1', 2), '99991231235959Z');
});

test('IP addresses as subjectAltName bytes: v4, v6 in every spelling, and not-an-address', () => {
  assert.equal(hex(ipBytes('10.217.0.1') as Buffer), '0ad90001');
  assert.equal(hex(ipBytes('::1') as Buffer), '00000000000000000000000000000001');
  assert.equal(hex(ipBytes('::') as Buffer), '0'.repeat(32));
  assert.equal(hex(ipBytes('fd00::2') as Buffer), 'fd000000000000000000000000000002');
  assert.equal(hex(ipBytes('2001:db8:1:2:3:4:5:6') as Buffer), '20010db8000100020003000400050006');
  assert.equal(hex(ipBytes('::ffff:192.0.2.1') as Buffer), '00000000000000000000ffffc0000201');
  assert.equal(hex(ipBytes('fe80::1%eth0') as Buffer), 'fe800000000000000000000000000001');
  for (const bad of ['', 'localhost', '300.1.1.1', '1.2.3', '::g', '1:2:3:4:5:6:7:8:9']) assert.equal(ipBytes(bad), null, bad);
});

function makeCert(names: { dnsNames: string[]; ipAddresses: string[] }, serial = randomBytes(16)) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = selfSignedCertificate(
    { commonName: 'Lifeboat appliance test', serial, notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: NO_EXPIRY, ...names, spki: publicKey.export({ type: 'spki', format: 'der' }) },
    (tbs) => sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' }),
  );
  return { der, privateKey };
}

test('a self-signed certificate that Node and OpenSSL read, verify and fingerprint alike', () => {
  const { der, privateKey } = makeCert({ dnsNames: ['lifeboat', 'box.example.org'], ipAddresses: ['10.217.0.1', 'fd00::2'] });
  const cert = new X509Certificate(der);
  assert.ok(cert.verify(cert.publicKey), 'signed by its own key');
  assert.ok(cert.checkPrivateKey(privateKey));
  assert.equal(cert.subject, 'O=Lifeboat\nCN=Lifeboat appliance test');
  assert.equal(cert.issuer, cert.subject);
  assert.equal(cert.subjectAltName, 'DNS:lifeboat, DNS:box.example.org, IP Address:10.217.0.1, IP Address:FD00:0:0:0:0:0:0:2');
  assert.equal(cert.ca, false);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(new Date(cert.validTo).getTime(), NO_EXPIRY.getTime());
  const path = join(dir, 'cert.pem');
  writeFileSync(path, pem('CERTIFICATE', der));
  const text = execFileSync('openssl', ['x509', '-in', path, '-noout', '-text', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  assert.match(text, /Version: 3 \(0x2\)/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text, /NIST CURVE: P-256/);
  assert.match(text, /Basic Constraints: critical\n\s+CA:FALSE/);
  assert.match(text, /Key Usage: critical\n\s+Digital Signature/);
  assert.match(text, /TLS Web Server Authentication/);
  assert.match(text, /DNS:lifeboat, DNS:box\.example\.org, IP Address:10\.217\.0\.1, IP Address:FD00:0:0:0:0:0:0:2/);
  assert.equal(/sha256 Fingerprint=([0-9A-F:]+)/.exec(text)?.[1], colonFingerprint(fingerprintOf(der)));
  assert.match(execFileSync('openssl', ['verify', '-CAfile', path, path], { encoding: 'utf8' }), /: OK/);
  // strict DER: OpenSSL re-encodes what it parsed to the same bytes
  const reencoded = execFileSync('openssl', ['x509', '-in', path, '-outform', 'DER']);
  assert.ok(reencoded.equals(der));
});

test('fuzz: random serials, names and addresses always give a certificate that parses, verifies and round-trips', () => {
  const label = () => randomBytes(1 + (randomBytes(1)[0] as number) % 10).toString('hex').slice(0, 63);
  for (let i = 0; i < 40; i++) {
    const r = randomBytes(8);
    const dnsNames = Array.from({ length: (r[0] as number) % 4 }, () => Array.from({ length: 1 + ((r[1] as number) % 3) }, label).join('.'));
    const v6 = () => Array.from({ length: 8 }, () => randomBytes(2).readUInt16BE(0).toString(16)).join(':');
    const ipAddresses = Array.from({ length: (r[2] as number) % 4 }, () => ((r[3] as number) % 2 === 0 ? [...randomBytes(4)].join('.') : v6()));
    const serial = randomBytes(1 + ((r[4] as number) % 20));
    const { der } = makeCert({ dnsNames, ipAddresses }, serial);
    const cert = new X509Certificate(der);
    assert.ok(cert.verify(cert.publicKey));
    const sans = cert.subjectAltName ?? '';
    for (const d of dnsNames) assert.ok(sans.includes(`DNS:${d}`), `${d} in ${sans}`);
    assert.equal((sans.match(/IP Address:/g) ?? []).length, ipAddresses.length, sans);
    const wanted = Buffer.from(serial);
    wanted[0] = (wanted[0] as number) & 0x7f;
    assert.equal(BigInt(`0x${cert.serialNumber}`), BigInt(`0x${wanted.toString('hex')}`));
  }
});
