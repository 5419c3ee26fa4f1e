// The boot OS's initramfs: compressed newc cpio archives, concatenated (the kernel unpacks
// one after the other into the same root):
//   1. runtime — Node and exactly the shared libraries it needs (large, rarely changes:
//      compressed once and cached by the SHA-256 of its uncompressed bytes)
//   2. system  — busybox, /init, the udhcpc script, the kernel modules, the agent bundle:
//      usr/lib/lifeboat/dist/{agent/agent.cjs, agent/chunk-worker.cjs, native/lz4.node},
//      dist/'s own layout, which the bundle's loading rules rely on (bundle-agent.sh), and
//      the libraries the codec needs beyond Node's (liblz4.so.1)
//   3. params  — (boot media only) etc/lifeboat/params, uncompressed, appended by
//      paramsArchive(); network boots carry the parameters on the kernel command line.
// Compressed archives follow each other unpadded (zstd and xz CLIs read them as one stream,
// the kernel as consecutive archives). Deterministic: entries are sorted and headers fixed (cpio.ts), the compressors run with a
// fixed level on one thread, so the same inputs give the same bytes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { externalError, userError } from '../errors.js';
import { type CpioEntry, encodeCpio } from './cpio.js';
import type { KernelSet } from './kernel-set.js';
import { type BootParams, PARAMS_FILE, encodeParamsFile } from './params.js';

export type CompressionKind = 'zstd' | 'xz';
export interface Compression {
  kind: CompressionKind;
  level: number;
}
export const DEFAULT_COMPRESSION: Compression = { kind: 'zstd', level: 19 };

export interface InitramfsInputs {
  kernel: KernelSet;
  /** the Node executable (stripped) and its shared libraries, by absolute path in the boot OS */
  node: Buffer;
  libraries: { path: string; data: Buffer }[];
  busybox: Buffer;
  /** the agent bundle (bundle-agent.sh), its chunk worker beside it, and the LZ4 codec addon */
  agent: Buffer;
  chunkWorker: Buffer;
  lz4Addon: Buffer;
  /** the libraries the addon needs beyond Node's (liblz4.so.1): in the system archive, so the cached runtime one stays as it is */
  addonLibraries: { path: string; data: Buffer }[];
  init: Buffer;
  udhcpcScript: Buffer;
  /** one line shown at boot: what was built from what */
  buildInfo: string;
}

/** Argument vectors: xz must write CRC32 checks (the kernel's xz decoder knows no other). */
export function compressorArgs(c: Compression): [string, string[]] {
  if (c.kind === 'zstd') {
    if (!Number.isInteger(c.level) || c.level < 1 || c.level > 19) throw userError(`zstd level ${c.level} is out of range: use 1-19`);
    return ['zstd', [`-${c.level}`, '-T1', '-q', '-c', '--no-progress']];
  }
  if (!Number.isInteger(c.level) || c.level < 0 || c.level > 9) throw userError(`xz level ${c.level} is out of range: use 0-9`);
  return ['xz', [`-${c.level}`, '-T1', '--check=crc32', '-q', '-c']];
}

export async function compress(data: Buffer, c: Compression): Promise<Buffer> {
  const [cmd, args] = compressorArgs(c);
  return new Promise<Buffer>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(userError(`${cmd} cannot be run (${e.message}): make apt installs zstd and xz-utils`)));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(externalError(`${cmd} ${args.join(' ')}`, err, code))));
    child.stdin.on('error', () => {}); // a compressor that died early is reported by 'close'
    child.stdin.end(data);
  });
}

function dirs(paths: string[]): CpioEntry[] {
  const all = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join('/'));
  }
  return [...all].map((path) => ({ type: 'dir', path }));
}

/** Where the agent's files are in the boot OS (what /init runs: node ${AGENT_DIR}/agent/agent.cjs). */
export const AGENT_DIR = 'usr/lib/lifeboat/dist';

export function runtimeEntries(i: InitramfsInputs): CpioEntry[] {
  const files: CpioEntry[] = [
    { type: 'file', path: 'usr/bin/node', data: i.node, mode: 0o755 },
    ...i.libraries.map((l): CpioEntry => ({ type: 'file', path: l.path.replace(/^\//, ''), data: l.data, mode: 0o755 })),
  ];
  return [...dirs(files.map((f) => f.path)), ...files];
}

export function systemEntries(i: InitramfsInputs): CpioEntry[] {
  const files: CpioEntry[] = [
    { type: 'file', path: 'init', data: i.init, mode: 0o755 },
    { type: 'file', path: 'bin/busybox', data: i.busybox, mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'etc/lifeboat/udhcpc.script', data: i.udhcpcScript, mode: 0o755 },
    { type: 'file', path: 'etc/lifeboat/build', data: Buffer.from(`${i.buildInfo}\n`) },
    { type: 'file', path: `${AGENT_DIR}/agent/agent.cjs`, data: i.agent },
    { type: 'file', path: `${AGENT_DIR}/agent/chunk-worker.cjs`, data: i.chunkWorker },
    { type: 'file', path: `${AGENT_DIR}/native/lz4.node`, data: i.lz4Addon, mode: 0o755 },
    ...i.addonLibraries.map((l): CpioEntry => ({ type: 'file', path: l.path.replace(/^\//, ''), data: l.data, mode: 0o755 })),
    ...i.kernel.files.map((f): CpioEntry => ({ type: 'file', path: f.path, data: f.data })),
  ];
  const extra: CpioEntry[] = ['dev', 'proc', 'sys', 'run', 'tmp', 'root', 'sbin', 'usr/sbin'].map((path) => ({ type: 'dir', path }));
  const listed = new Set(extra.map((e) => e.path));
  return [
    ...dirs(files.map((f) => f.path)).filter((d) => !listed.has(d.path)),
    ...extra,
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 }, // the kernel opens it for /init before devtmpfs is mounted
    ...files,
  ];
}

export interface Segment {
  name: string;
  rawBytes: number;
  bytes: Buffer;
  cached: boolean;
}

/** Zero padding to a 4-byte boundary: the kernel skips zeros between archives, and reads an uncompressed one only at an offset that is a multiple of 4. */
const pad = (b: Buffer) => (b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]));

async function segment(name: string, entries: CpioEntry[], c: Compression, cacheDir: string | null): Promise<Segment> {
  const raw = encodeCpio(entries);
  const [cmd, args] = compressorArgs(c);
  const key = createHash('sha256').update(raw).update(`\0${cmd} ${args.join(' ')}`).digest('hex');
  const file = cacheDir === null ? null : join(cacheDir, `${name}-${key}.${c.kind}`);
  if (file !== null) {
    try {
      return { name, rawBytes: raw.length, bytes: readFileSync(file), cached: true };
    } catch {
      // not cached yet
    }
  }
  const bytes = await compress(raw, c);
  if (file !== null && cacheDir !== null) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${file}.tmp`, bytes);
    renameSync(`${file}.tmp`, file);
  }
  return { name, rawBytes: raw.length, bytes, cached: false };
}

/** The whole initramfs (runtime + system archives); `cacheDir` keeps compressed runtime archives. */
export async function buildInitramfs(i: InitramfsInputs, opts: { compression?: Compression; cacheDir?: string | null } = {}): Promise<{ bytes: Buffer; segments: Segment[] }> {
  const c = opts.compression ?? DEFAULT_COMPRESSION;
  const runtime = await segment('runtime', runtimeEntries(i), c, opts.cacheDir ?? null);
  const system = await segment('system', systemEntries(i), c, null);
  return { bytes: Buffer.concat([runtime.bytes, system.bytes]), segments: [runtime, system] };
}

/** The initramfs with the parameters appended as an uncompressed archive (boot media). */
export const withParams = (initrd: Buffer, p: BootParams): Buffer => Buffer.concat([pad(initrd), paramsArchive(p)]);

/** The parameters as an archive to append to the initramfs (boot media). */
export function paramsArchive(p: BootParams): Buffer {
  return encodeCpio([
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'etc/lifeboat' },
    { type: 'file', path: PARAMS_FILE, data: Buffer.from(encodeParamsFile(p)), mode: 0o600 },
  ]);
}
