// Boot parameters: what makes the one boot OS image the boot OS of one machine for one job.
// The same `lifeboat.<key>=<value>` tokens go on the kernel command line (network boot:
// iPXE script or GRUB config) or into /etc/lifeboat/params inside an appended initramfs
// member (boot media, so the medium works without any DHCP option). Pure: encode to text,
// decode + validate from text. The decoder only ever throws a LifeboatError that names the
// parameter, what is wrong with it and what to do (it reads /proc/cmdline, which anyone
// editing a GRUB line at the console controls).
import { LifeboatError, userError } from '../errors.js';

export const PARAMS_FILE = 'etc/lifeboat/params';
export const PREFIX = 'lifeboat.';
/** By default the kernel console goes to the screen and to the first serial port. */
export const DEFAULT_CONSOLES = ['tty0', 'ttyS0,115200n8'];

export interface StaticNetwork {
  /** address with prefix length, e.g. 192.168.1.50/24 */
  address: string;
  gateway: string | null;
  dns: string[];
}

export interface BootParams {
  /** the appliance's agent API, http(s)://host[:port][/path] */
  url: string;
  /** the one-job token the agent presents as a bearer token */
  token: string;
  /** SHA-256 of the appliance's TLS certificate (DER), 64 lowercase hex digits; required for https */
  fingerprint: string | null;
  /** a static address for networks without DHCP; null: DHCP on every NIC */
  network: StaticNetwork | null;
  /** the console and the agent say more, and /init offers a shell on failure */
  debug: boolean;
  /**
   * How long the agent retries a request while the appliance does not answer before the job
   * fails, and then how long it tries to report that failure (seconds, RETRY_SECONDS range);
   * absent: the agent's default (DEFAULT_RETRY_SECONDS). The daemon sets it from `agent.retrySeconds`.
   */
  retrySeconds?: number;
}

/** The agent's retry window when the parameters name none. */
export const DEFAULT_RETRY_SECONDS = 60;
/** The retry windows the parameters (and the daemon's config) accept. */
export const RETRY_SECONDS = { min: 5, max: 3600 } as const;

const fail = (message: string) => userError(`boot parameters: ${message}`);
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;
const FINGERPRINT = /^[0-9a-f]{64}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Characters a URL may use on a kernel command line: no space, quote or control character.
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+$/;

/** Accepts "AB:CD:…" (openssl's form) or plain hex; returns 64 lowercase hex digits. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/:/g, '').toLowerCase();
  if (!FINGERPRINT.test(hex)) throw fail(`lifeboat.fp must be the SHA-256 fingerprint of the appliance's TLS certificate (64 hex digits, colons allowed), got ${JSON.stringify(text.slice(0, 100))}: copy it from \`openssl x509 -noout -fingerprint -sha256\``);
  return hex;
}

function checkUrl(text: string): string {
  let u: URL;
  try {
    if (text.length > 512 || !URL_CHARS.test(text)) throw new Error('characters');
    u = new URL(text);
  } catch {
    throw fail(`lifeboat.url ${JSON.stringify(text.slice(0, 100))} is not a URL: give the appliance's agent URL, e.g. https://192.168.1.10:8443`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw fail(`lifeboat.url must be http:// or https://, got ${u.protocol}`);
  if (u.username !== '' || u.password !== '') throw fail('lifeboat.url must not carry a user name or password: the token is the credential');
  if (u.hostname === '') throw fail(`lifeboat.url ${text} has no host`);
  return text;
}

const badRetry = (text: string) =>
  fail(`lifeboat.retry must be a whole number of seconds from ${RETRY_SECONDS.min} to ${RETRY_SECONDS.max} (how long the agent retries a request before its job fails), got ${JSON.stringify(text.slice(0, 20))}: set agent.retrySeconds in the appliance's config`);

function checkIpv4(text: string, what: string): string {
  if (!IPV4.test(text)) throw fail(`${what} ${JSON.stringify(text.slice(0, 60))} is not an IPv4 address (a.b.c.d)`);
  return text;
}

/** Checks a whole parameter set; returns it with normalized fields. */
export function validateParams(p: BootParams): BootParams {
  const url = checkUrl(p.url);
  if (!TOKEN.test(p.token)) throw fail('lifeboat.token must be 16 to 256 characters of A-Z a-z 0-9 _ -: the appliance generates it per job; boot from a fresh iPXE script or boot medium');
  const fingerprint = p.fingerprint === null ? null : normalizeFingerprint(p.fingerprint);
  if (url.startsWith('https:') && fingerprint === null) throw fail('lifeboat.url is https but lifeboat.fp (the certificate fingerprint to pin) is missing: add lifeboat.fp=<sha256>');
  let network: StaticNetwork | null = null;
  if (p.network !== null) {
    const [addr, prefix, extra] = p.network.address.split('/');
    if (addr === undefined || prefix === undefined || extra !== undefined || !/^([0-9]|[12][0-9]|3[0-2])$/.test(prefix)) throw fail(`lifeboat.ip ${JSON.stringify(p.network.address.slice(0, 60))} must be address/prefix, e.g. 192.168.1.50/24`);
    checkIpv4(addr, 'lifeboat.ip');
    const gateway = p.network.gateway === null ? null : checkIpv4(p.network.gateway, 'lifeboat.gw');
    if (p.network.dns.length > 3) throw fail('lifeboat.dns takes at most 3 servers');
    const dns = p.network.dns.map((d) => checkIpv4(d, 'lifeboat.dns'));
    network = { address: p.network.address, gateway, dns };
  }
  const retry = p.retrySeconds;
  if (retry !== undefined && (!Number.isSafeInteger(retry) || retry < RETRY_SECONDS.min || retry > RETRY_SECONDS.max)) throw badRetry(String(retry));
  return { url, token: p.token, fingerprint, network, debug: p.debug === true, ...(retry !== undefined ? { retrySeconds: retry } : {}) };
}

/** The `lifeboat.*` tokens, space-separated, in a fixed order (validated first). */
export function encodeParams(input: BootParams): string {
  const p = validateParams(input);
  const out = [`${PREFIX}url=${p.url}`, `${PREFIX}token=${p.token}`];
  if (p.fingerprint !== null) out.push(`${PREFIX}fp=${p.fingerprint}`);
  if (p.network !== null) {
    out.push(`${PREFIX}ip=${p.network.address}`);
    if (p.network.gateway !== null) out.push(`${PREFIX}gw=${p.network.gateway}`);
    if (p.network.dns.length > 0) out.push(`${PREFIX}dns=${p.network.dns.join(',')}`);
  }
  if (p.debug) out.push(`${PREFIX}debug=1`);
  if (p.retrySeconds !== undefined) out.push(`${PREFIX}retry=${p.retrySeconds}`);
  return out.join(' ');
}

/** The embedded-file form: one token a line. */
export const encodeParamsFile = (p: BootParams): string => `${encodeParams(p).split(' ').join('\n')}\n`;

/** A whole kernel command line for a network boot of the boot OS. */
export function kernelCommandLine(p: BootParams, opts: { initrd?: string; consoles?: readonly string[] } = {}): string {
  const parts: string[] = [];
  if (opts.initrd !== undefined) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.initrd)) throw fail(`initrd name ${JSON.stringify(opts.initrd)} must be a plain file name`);
    parts.push(`initrd=${opts.initrd}`); // EFI-stub kernels loaded by iPXE find their initrd by this name
  }
  for (const c of opts.consoles ?? DEFAULT_CONSOLES) {
    if (!/^[A-Za-z0-9,]{1,32}$/.test(c)) throw fail(`console ${JSON.stringify(c)} is not a console name like ttyS0,115200n8`);
    parts.push(`console=${c}`);
  }
  parts.push(encodeParams(p));
  return parts.join(' ');
}

/**
 * Parameters from text: a kernel command line or the embedded file. Tokens that do not
 * start with `lifeboat.` belong to the kernel and are ignored. Throws a LifeboatError only.
 */
export function decodeParams(text: string): BootParams {
  try {
    if (text.length > 65536) throw fail('the parameter text is larger than 64 KiB');
    const seen = new Map<string, string>();
    for (const token of text.split(/\s+/)) {
      if (!token.startsWith(PREFIX)) continue;
      const eq = token.indexOf('=');
      const key = eq < 0 ? token.slice(PREFIX.length) : token.slice(PREFIX.length, eq);
      const value = eq < 0 ? '' : token.slice(eq + 1);
      if (!['url', 'token', 'fp', 'ip', 'gw', 'dns', 'debug', 'retry', 'selftest'].includes(key)) throw fail(`unknown parameter lifeboat.${key.slice(0, 40)}: known are url, token, fp, ip, gw, dns, debug, retry, selftest`);
      if (seen.has(key)) throw fail(`lifeboat.${key} is given twice`);
      seen.set(key, value);
    }
    const url = seen.get('url');
    const token = seen.get('token');
    if (url === undefined || url === '') throw fail('lifeboat.url is missing: boot this machine from the appliance (its iPXE script or boot medium sets it)');
    if (token === undefined || token === '') throw fail('lifeboat.token is missing: the appliance gives each job a token; boot from a fresh iPXE script or boot medium');
    const ip = seen.get('ip');
    if (ip === undefined && (seen.has('gw') || seen.has('dns'))) throw fail('lifeboat.gw and lifeboat.dns need lifeboat.ip (a static address)');
    const debug = seen.get('debug');
    if (debug !== undefined && debug !== '0' && debug !== '1') throw fail('lifeboat.debug must be 0 or 1');
    // lifeboat.selftest=1 is /init's (it runs the engine's selftest before the agent): checked, not kept.
    const selftest = seen.get('selftest');
    if (selftest !== undefined && selftest !== '0' && selftest !== '1') throw fail('lifeboat.selftest must be 0 or 1');
    const retry = seen.get('retry');
    // digits only (no sign, exponent, fraction or hex); the range is validateParams' to check
    if (retry !== undefined && !/^[0-9]{1,6}$/.test(retry)) throw badRetry(retry);
    const retrySeconds = retry === undefined ? undefined : Number(retry);
    return validateParams({
      url,
      token,
      fingerprint: seen.get('fp') ?? null,
      network: ip === undefined ? null : { address: ip, gateway: seen.get('gw') ?? null, dns: (seen.get('dns') ?? '').split(',').filter((d) => d !== '') },
      debug: debug === '1',
      ...(retrySeconds !== undefined ? { retrySeconds } : {}),
    });
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw fail(`cannot read them (${(err as Error)?.message ?? String(err)})`);
  }
}
