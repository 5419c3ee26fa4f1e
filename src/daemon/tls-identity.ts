// The appliance's TLS identity for the agent API: an ECDSA P-256 key and a self-signed
// certificate in <dataDir>/tls/, made at the daemon's first start and kept for good.
// Agents pin the certificate's SHA-256 fingerprint (their boot parameters carry it), so
// a new certificate would lock out every agent booted with the old one: an identity that
// exists is never regenerated, and a damaged, mismatched or exposed one stops the daemon
// with advice instead of being replaced behind the operator's back.
//
// Files: tls/agent-key.pem (0600, the daemon's user) and tls/agent-cert.pem (0644). They
// are written into a fresh directory that is renamed into place, so a crash leaves either
// no identity or a whole one.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { LifeboatError, describeSystemError, userError } from '../errors.js';
import { NO_EXPIRY, colonFingerprint, fingerprintOf, pem, selfSignedCertificate } from './certificate.js';

export const TLS_DIR = 'tls';
export const KEY_FILE = 'agent-key.pem';
export const CERT_FILE = 'agent-cert.pem';

export interface TlsIdentity {
  /** PEM */
  key: string;
  /** PEM */
  cert: string;
  /** SHA-256 of the certificate's DER: 64 lowercase hex digits (lifeboat.fp). */
  fingerprint: string;
  /** The same as AA:BB:…, for people. */
  display: string;
  dir: string;
  /** Made by this start (first start). */
  created: boolean;
}

/** The names a new certificate carries: the host name (when it is a DNS name) and every non-loopback address. Pure. */
export function subjectNames(host: string, ifaces: ReturnType<typeof networkInterfaces>): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host) && host.length <= 253 ? [host] : [];
  const ipAddresses = [
    ...new Set(
      Object.values(ifaces)
        .flatMap((list) => list ?? [])
        .filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')))
        .map((a) => a.address),
    ),
  ].slice(0, 32);
  return { dnsNames, ipAddresses };
}

function advice(dir: string): string {
  return `restore ${dir} from a backup of the appliance, or move it aside (mv ${dir} ${dir}.old) and start again to make a new key and certificate; clients booted before then pin the old one and must boot again from the appliance`;
}

function readOwnFile(path: string, what: string, dir: string, secret: boolean): string {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw userError(`the agent API's TLS ${what} ${path} is missing while ${dir} exists: ${advice(dir)}`);
    throw describeSystemError(err, `the agent API's TLS ${what} ${path}`);
  }
  if (!st.isFile()) throw userError(`the agent API's TLS ${what} ${path} is not a regular file (a link or a directory): ${advice(dir)}`);
  const uid = process.getuid?.();
  if (secret && uid !== undefined && st.uid !== uid) throw userError(`the agent API's TLS key ${path} belongs to uid ${st.uid}, not to the daemon's user (uid ${uid}): chown it back (chown ${uid} ${path}) if that was a mistake, otherwise treat it as exposed: ${advice(dir)}`);
  if (secret && (st.mode & 0o077) !== 0) throw userError(`the agent API's TLS key ${path} is readable or writable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path} if nobody else could have read it, otherwise treat it as exposed: ${advice(dir)}`);
  if (st.size > 1 << 20) throw userError(`the agent API's TLS ${what} ${path} is ${st.size} bytes, too large to be one: ${advice(dir)}`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw describeSystemError(err, `the agent API's TLS ${what} ${path}`);
  }
}

/** Reads and checks an existing identity: a key, a certificate, and that they belong together. */
export function readTlsIdentity(dir: string): TlsIdentity {
  const keyPath = join(dir, KEY_FILE);
  const certPath = join(dir, CERT_FILE);
  const keyPem = readOwnFile(keyPath, 'key', dir, true);
  const certPem = readOwnFile(certPath, 'certificate', dir, false);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw userError(`the agent API's TLS key ${keyPath} is damaged (${(err as Error).message}): ${advice(dir)}`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw userError(`the agent API's TLS certificate ${certPath} is damaged (${(err as Error).message}): ${advice(dir)}`);
  }
  let signed: boolean;
  let matches: boolean;
  try {
    signed = cert.verify(cert.publicKey);
    matches = cert.checkPrivateKey(key);
  } catch (err) {
    // the certificate parsed but its public key does not: damaged inside
    throw userError(`the agent API's TLS certificate ${certPath} is damaged (${(err as Error).message}): ${advice(dir)}`);
  }
  if (!signed) throw userError(`the agent API's TLS certificate ${certPath} is damaged or not the one Lifeboat made (it is not signed by its own key): ${advice(dir)}`);
  if (!matches) throw userError(`the agent API's TLS key ${keyPath} does not belong to the certificate ${certPath} (one of them was replaced or damaged): ${advice(dir)}`);
  const fingerprint = fingerprintOf(cert.raw);
  return { key: keyPem, cert: certPem, fingerprint, display: colonFingerprint(fingerprint), dir, created: false };
}

function writeSynced(path: string, text: string, mode: number): void {
  writeFileSync(path, text, { mode, flag: 'wx' });
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a key and certificate in a new directory and renames it to `dir` (which must not exist). */
export function createTlsIdentity(dataDir: string, names: { dnsNames: string[]; ipAddresses: string[] }, now = new Date()): TlsIdentity {
  const dir = join(dataDir, TLS_DIR);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = selfSignedCertificate(
    {
      commonName: `Lifeboat appliance${names.dnsNames[0] ? ` ${names.dnsNames[0]}` : ''}`.slice(0, 64),
      serial: randomBytes(16),
      // a client's clock may be behind; nothing checks the dates (agents pin the fingerprint)
      notBefore: new Date(now.getTime() - 86_400_000),
      notAfter: NO_EXPIRY,
      dnsNames: names.dnsNames,
      ipAddresses: names.ipAddresses,
      spki: publicKey.export({ type: 'spki', format: 'der' }),
    },
    (tbs) => sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' }),
  );
  const staging = mkdtempSync(join(dataDir, '.tls-new-'));
  try {
    writeSynced(join(staging, KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    writeSynced(join(staging, CERT_FILE), pem('CERTIFICATE', der), 0o644);
    chmodSync(staging, 0o755); // the directory's mode, not the key's: the key file is 0600
    syncDir(staging);
    renameSync(staging, dir);
    syncDir(dataDir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw describeSystemError(err, `the agent API's TLS identity in ${dir}`);
  }
  return { ...readTlsIdentity(dir), created: true };
}

/**
 * The identity in <dataDir>/tls: read and checked when it exists, made when it does not.
 * Leftovers of a start that crashed while making one are removed first.
 */
export function loadTlsIdentity(dataDir: string, names = () => subjectNames(osHostname(), networkInterfaces()), now = new Date()): TlsIdentity {
  const dir = join(dataDir, TLS_DIR);
  try {
    for (const entry of readdirSync(dataDir)) if (entry.startsWith('.tls-new-')) rmSync(join(dataDir, entry), { recursive: true, force: true });
  } catch (err) {
    throw describeSystemError(err, `data directory ${dataDir}`);
  }
  let exists = true;
  try {
    if (!lstatSync(dir).isDirectory()) throw userError(`${dir} should be the directory of the agent API's TLS key and certificate but is not a directory: ${advice(dir)}`);
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw describeSystemError(err, dir);
    exists = false;
  }
  return exists ? readTlsIdentity(dir) : createTlsIdentity(dataDir, names(), now);
}
