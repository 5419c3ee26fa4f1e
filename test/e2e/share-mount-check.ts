// Runs inside the boot OS (bundled to share-test.cjs by share-mount.integration.test.ts, started
// by share-mount-init.sh): the agent's mountShare against the lab's smbd, with the boot OS's own
// kernel cifs, busybox mount and Node. Settings come from the JSON file named by argv[2]:
//   { dest, wrongPassword, nonce, mebibytes, disk }
// 1. the wrong password: mountShare must refuse, its message is printed;
// 2. the right one (UNC by host name, resolved through /etc/hosts): mount at /run/share, write
//    hello-<nonce>.txt and a file of `mebibytes` random MiB (fsync'd, timed), read both back;
// 3. the image engine backs up `disk` into <share>/lifeboat-store, a store exactly as
//    `lifeboat image backup --store DIR` makes it (its own key made there on first use);
// 4. unmount, check nothing is mounted there any more.
// It is bundled like the agent (bundle-agent.sh's banner) and placed beside it in the boot OS,
// so the engine finds the boot OS's chunk worker and LZ4 addon where the agent does.
// Every result is a line `share-test: <what> <json>` on stdout (the console); the test reads them.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type ShareMountDestination, mountShare } from '../../src/agent/share-mount.js';
import { backupImage } from '../../src/imaging/backup.js';
import { ImageStore } from '../../src/imaging/repo/image-store.js';

interface Settings {
  dest: ShareMountDestination;
  wrongPassword: string;
  nonce: string;
  mebibytes: number;
  disk: string;
}

const say = (what: string, value: unknown) => process.stdout.write(`share-test: ${what} ${JSON.stringify(value)}\n`);
const log = (line: string) => process.stdout.write(`share-test: log ${line}\n`);

async function main(): Promise<void> {
  const s = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as Settings;
  const at = '/run/share';
  try {
    const u = await mountShare({ ...s.dest, unc: s.dest.unc.replace('nas.lab', '10.219.0.1'), password: s.wrongPassword }, at, log);
    await u();
    say('wrong-password', { mounted: true });
  } catch (err) {
    say('wrong-password', { mounted: false, message: (err as Error).message });
  }

  const unmount = await mountShare(s.dest, at, log);
  const hello = join(at, `hello-${s.nonce}.txt`);
  const fd = openSync(hello, 'wx');
  writeSync(fd, `written in the boot OS ${s.nonce}\n`);
  fsyncSync(fd);
  closeSync(fd);
  const big = join(at, `random-${s.nonce}.bin`);
  const hash = createHash('sha256');
  const t0 = process.hrtime.bigint();
  const out = openSync(big, 'wx');
  for (let i = 0; i < s.mebibytes; i++) {
    const block = randomBytes(1 << 20);
    hash.update(block);
    writeSync(out, block);
  }
  fsyncSync(out);
  closeSync(out);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const readBack = createHash('sha256').update(readFileSync(big)).digest('hex');
  const sha256 = hash.digest('hex');
  say('wrote', { hello: readFileSync(hello, 'utf8'), file: big, sha256, readBackMatches: readBack === sha256, mebibytes: s.mebibytes, seconds });

  const b0 = process.hrtime.bigint();
  const store = await ImageStore.open(join(at, 'lifeboat-store'), { create: true });
  const manifest = await backupImage({ store, source: s.disk, label: `share test ${s.nonce}` });
  say('backup', { id: manifest.id, seconds: Number(process.hrtime.bigint() - b0) / 1e9, stats: manifest.stats });
  await unmount();
  const still = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === at);
  say('unmounted', { stillMounted: still });
}

main().then(
  () => say('done', { ok: true }),
  (err: unknown) => {
    say('done', { ok: false, message: (err as Error).message });
    process.exitCode = 1;
  },
);
