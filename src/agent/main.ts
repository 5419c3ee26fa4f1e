// `lifeboat agent`'s entry in the boot OS: bundled by esbuild into one file
// (dist/agent/agent.cjs) that /init runs with the boot OS's Node.
import { runAgent } from './agent.js';

runAgent().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stdout.write(`lifeboat agent: internal error (a bug in Lifeboat, please report it): ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
