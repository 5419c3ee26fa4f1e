// `lifeboat serve`: the one composition root. The management database, the image store,
// the job runner and the operator API start under one AbortController; if one fails,
// all stop cleanly. SIGTERM/SIGINT: stop taking requests, interrupt running jobs (their
// state is written), close the database, release the lock; exit 0. A second daemon on
// the same data directory refuses to start.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Server } from 'node:http';
import { LifeboatError, describeSystemError } from '../errors.js';
import { operatorApi } from '../api/routes.js';
import { startApiServer } from '../api/server.js';
import { sweepTemp } from '../imaging/repo/gc.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { type ManagementStore, openManagementStore } from '../db/index.js';
import { type BootFlags, type DaemonConfig, loadConfig } from './config.js';
import { EventHub } from './event-hub.js';
import { imageSyncer } from './image-sync.js';
import { operatorServices } from './api-services.js';
import { ApplianceStatusSource } from './appliance-status.js';
import { ThroughputRecorder } from './throughput-history.js';
import { JobRunner } from './job-runner.js';
import { AgentTokens } from './agent-tokens.js';
import { MediumTokens } from './medium-tokens.js';
import { BootDirectory } from './boot-directory.js';
import { agentRoutes } from './agent-api.js';
import { AgentJobs } from './agent-jobs.js';
import { kernelCommandLine } from '../bootos/params.js';
import { type BootServices, startBootServices } from './boot-services.js';
import { listLocalDevices } from './local-devices.js';
import { timerSync } from './schedule-timers.js';
import { lockDataDir } from './lock.js';
import { CERT_FILE, loadTlsIdentity } from './tls-identity.js';
import { resolveShare } from './shares.js';

import { VERSION } from '../version.js';

/** Structured log lines on stderr (journald keeps them). */
export function log(level: 'info' | 'warning' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), level, msg, ...fields })}\n`);
}

export async function runDaemon(flags: { config?: string; dataDir?: string; socket?: string; repair?: boolean; boot?: BootFlags }): Promise<number> {
  const config: DaemonConfig = loadConfig(flags);
  const stop = new AbortController();
  const makeDir = (dir: string, mode: number, what: string) => {
    try {
      mkdirSync(dir, { recursive: true, mode });
    } catch (err) {
      throw describeSystemError(err, `${what} ${dir}`);
    }
  };
  makeDir(config.dataDir, 0o750, 'data directory');
  makeDir(dirname(config.socket), 0o755, 'socket directory');
  const lock = lockDataDir(config.dataDir);
  let db: ManagementStore | null = null;
  let server: Server | null = null;
  let runner: JobRunner | null = null;
  let boot: BootServices | null = null;
  let throughput: ThroughputRecorder | null = null;
  const onSignal = (sig: string) => {
    log('info', `${sig}: stopping`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    db = await openManagementStore(join(config.dataDir, 'db'), { ...(flags.repair ? { repair: true } : {}), onWarning: (m) => log('warning', m) });
    for (const job of await db.jobs.markInterrupted()) log('warning', `job was ${job.error?.includes('before the job started') ? 'queued' : 'active'} when the daemon stopped: marked interrupted`, { job: job.id, type: job.type });
    const images = await ImageStore.open(config.store, { create: true });
    // What killed backups left in tmp/ (staged chunks, staging directories) goes now, not at the next gc.
    const swept = await sweepTemp(images).catch((err: Error) => log('warning', `clearing the store's tmp/ failed: ${err.message}`));
    if (swept) log('info', 'cleared what interrupted backups left in the store', { files: swept });
    // One bad image is logged and left out; it never keeps the daemon from starting.
    const imageSync = imageSyncer(db, images, log);
    await imageSync.sync();
    const hub = new EventHub();
    makeDir(config.dockedDir, 0o750, 'docked directory');
    runner = new JobRunner(db, images, hub, (msg, fields) => log('info', msg, fields), config);
    const timers = config.scheduleTimerDir ? timerSync(config.scheduleTimerDir, (msg, fields) => log('info', msg, fields)) : null;
    const schedulesChanged = async () => {
      const problems = timers ? timers.sync(await (db as ManagementStore).schedules.list()) : [];
      for (const p of problems) log('warning', p);
      // A stored schedule that does not read back has no timer and runs nothing; said at each start and change.
      for (const bad of await (db as ManagementStore).schedules.unreadable()) log('warning', `schedule ${bad.name} is left out: its stored record does not read back (${bad.error}); remove it with \`lifeboat schedule rm ${bad.name}\` and add it again`, { schedule: bad.id });
      return problems;
    };
    await schedulesChanged();
    // The agent API's certificate: made at the first start, then kept (agents pin its fingerprint).
    const tls = loadTlsIdentity(config.dataDir);
    log('info', tls.created ? "made the agent API's TLS key and certificate (first start)" : "the agent API's TLS certificate", { certificate: join(tls.dir, CERT_FILE), fingerprint: tls.display });
    const tokens = new AgentTokens();
    hub.subscribe((e) => {
      if (e.type === 'job-state' && ['done', 'failed', 'cancelled', 'interrupted'].includes(e.state)) tokens.revokeJob(e.jobId);
    });
    const media = new MediumTokens(db, tokens, hub);
    const directory = new BootDirectory({
      db,
      hub,
      tokens,
      discovery: () => config.boot.discovery,
      agent: () => boot?.agent ?? { url: 'https://127.0.0.1', fingerprint: tls.fingerprint }, // boot services off: no boot ever asks
      // consoles and lifeboat.* parameters; the loader's script adds initrd= where the EFI stub needs it
      commandLine: (p) => kernelCommandLine({ url: p.url, token: p.token, fingerprint: p.fingerprint, network: null, debug: false, retrySeconds: config.agent.retrySeconds }).split(' '),
      log: (msg, fields) => log('info', msg, fields),
    });
    const jobRunner = runner;
    // Shares in the config: a backup's share is checked (its password file read) before its job exists, and resolved again when the agent starts it.
    const hasShares = Object.keys(config.shares).length > 0;
    if (hasShares) runner.shareCheck = (name) => void resolveShare(config, name);
    const agentJobs = new AgentJobs({ db, images, hub, tokens, config: config.agent, claimWaiting: (jobId) => jobRunner.claimWaiting(jobId), log: (msg, fields) => log('info', msg, fields), ...(hasShares ? { resolveShare: (name: string) => resolveShare(config, name) } : {}) });
    runner.agentJobs = agentJobs;
    boot = await startBootServices({ config: config.boot, directory, leases: db.leases, tls, agentRoutes: agentRoutes({ db, tokens, media, hub, jobs: agentJobs, log: (level, msg, fields) => log(level, msg, fields) }), log: (level, msg, fields) => log(level, msg, fields) });
    const bootServices = boot;
    if (bootServices.address !== null) runner.wakeMachine = (macs) => bootServices.wake(macs);
    // Fixed addresses set before the boot network changed: still never given to anyone else, but said.
    for (const m of await db.machines.list()) {
      const problem = m.fixedAddress ? bootServices.fixedAddressProblem(m.fixedAddress) : null;
      if (problem) log('warning', `machine ${m.name}: ${problem}`, { machine: m.name });
    }
    const startedAt = Date.now();
    // The dashboard's last hour of throughput, kept across restarts (throughput-history.ts).
    throughput = new ThroughputRecorder(join(config.dataDir, 'throughput-history.json'), { log: (msg) => log('warning', msg) });
    await throughput.start(hub);
    const history = throughput;
    const status = new ApplianceStatusSource({ config, version: VERSION, startedAt, db, images, runner, bootServices: () => bootServices.status(), agentApi: () => ({ url: bootServices.agent?.url ?? null, fingerprint: tls.display, plainHttp: config.boot.agentPlainHttp }) });
    const services = operatorServices({
      db,
      images,
      runner,
      hub,
      version: VERSION,
      dataDir: config.dataDir,
      startedAt,
      appliance: () => status.status(),
      throughput: () => history.view(),
      devices: () => listLocalDevices(config),
      schedulesChanged,
      imageSync,
      importRoots: () => [config.dockedDir, ...Object.values(config.shares).flatMap((s) => (s.localPath !== undefined ? [s.localPath] : []))],
      media: { tokens: media, agent: () => (bootServices.address !== null ? (bootServices.agent ?? null) : null), retrySeconds: config.agent.retrySeconds },
      fixedAddressProblem: (ip: string) => bootServices.fixedAddressProblem(ip),
      ...(bootServices.address !== null ? { wake: (macs: readonly string[]) => bootServices.wake(macs) } : {}),
    });
    server = await startApiServer(config.socket, { handle: operatorApi(services), subscribe: services.subscribe }, config.socketGid !== undefined ? { gid: config.socketGid } : {});
    server.on('error', (err) => {
      log('error', `operator API failed: ${err.message}`);
      stop.abort();
    });
    log('info', 'lifeboat daemon ready', { socket: config.socket, dataDir: config.dataDir, store: config.store, pid: process.pid });
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    return 0;
  } catch (err) {
    log('error', err instanceof LifeboatError ? err.message : `internal error: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await boot?.close().catch((err: Error) => log('error', `closing the boot services: ${err.message}`));
    await runner?.stop(); // running jobs write their final state (interrupted) first
    await throughput?.stop();
    if (server) {
      const closed = new Promise<void>((resolve) => (server as Server).close(() => resolve()));
      server.closeAllConnections(); // event streams never end by themselves
      await closed;
    }
    await db?.close().catch((err: Error) => log('error', `closing the database: ${err.message}`));
    rmSync(config.socket, { force: true });
    lock.release();
    log('info', 'lifeboat daemon stopped');
  }
}
