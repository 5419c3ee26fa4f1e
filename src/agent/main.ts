// `lifeboat agent`'s entry in the boot OS: bundled by esbuild into one file
// (dist/agent/agent.cjs) that /init runs with the boot OS's Node.
//   agent.cjs            the agent's run (hello to the appliance, …)
//   agent.cjs selftest   the image engine's selftest (selftest.ts), for /init's lifeboat.selftest=1
// LIFEBOAT_AGENT_ROOT=<dir> runs it against <dir>/proc/cmdline, <dir>/sys and <dir>/dev
// instead of the real ones (tests run the bundle on the host, as the boot OS would).
import { runAgent } from './agent.js';
import { selftestMain } from './selftest.js';

const log = (line: string) => process.stdout.write(`lifeboat agent: ${line}\n`);
const command = process.argv[2];
const run = command === 'selftest' ? selftestMain(log) : command === undefined ? runAgent({ root: process.env.LIFEBOAT_AGENT_ROOT || '/' }) : Promise.resolve(usage(command));

function usage(arg: string): number {
  log(`unknown argument ${JSON.stringify(arg.slice(0, 60))}: run it without arguments (the agent) or with \`selftest\``);
  return 2;
}

run.then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stdout.write(`lifeboat agent: internal error (a bug in Lifeboat, please report it): ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
