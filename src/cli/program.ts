// The `lifeboat` command's program: wires the subcommands (one file each), turns signals into
// an abort, and maps every error to a message and an exit code (0 ok, 1 failed, 2 usage).
import { createInterface } from 'node:readline/promises';
import { CommanderError } from 'commander';
import { LifeboatError, exitCodeFor } from '../errors.js';
import { escapeForTerminal } from '../text.js';
import type { CommandContext } from './context.js';
import { buildProgram } from './command-tree.js';
import { DaemonUnreachable } from '../api/client.js';

/** `lifeboat help image backup` → `lifeboat image backup --help` (commander's help takes one word). */
function helpAsOption(argv: string[]): string[] {
  const words = argv.slice(2);
  return words[0] === 'help' && words.length > 2 ? [...argv.slice(0, 2), ...words.slice(1), '--help'] : argv;
}

async function main(argv: string[]): Promise<number> {
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(130);
    process.stderr.write(`\n${sig}: stopping cleanly (again to force)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: CommandContext = {
    signal: abort.signal,
    async confirm(question: string) {
      if (!process.stdin.isTTY) return false;
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question}\nType "yes" to continue: `);
        return answer.trim().toLowerCase() === 'yes';
      } finally {
        rl.close();
      }
    },
  };
  try {
    await buildProgram(ctx).parseAsync(helpAsOption(argv));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help asked for is success; help shown because a subcommand is missing is a usage error.
      if (err.exitCode === 0) return 0;
      return 2; // commander already printed what was wrong
    }
    if (err instanceof DaemonUnreachable) {
      process.stderr.write(`lifeboat: ${escapeForTerminal(err.message, { multiline: true })}\n`);
      return err.reason === 'permission' ? 4 : 3;
    }
    if ((err as { reported?: boolean }).reported) return exitCodeFor(err);
    const message = err instanceof LifeboatError ? err.message : `internal error (a bug in Lifeboat, please report it): ${(err as Error)?.stack ?? String(err)}`;
    // A message may quote what came from outside (a label, a name, a daemon's answer): shown, never obeyed.
    process.stderr.write(`lifeboat: ${escapeForTerminal(message, { multiline: true })}\n`);
    return exitCodeFor(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv);
