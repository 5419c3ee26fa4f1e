// The `lifeboat` command tree: every subcommand (one file each) with its description and
// options. Building it runs nothing: program.ts parses with it, the help and completion tests
// walk it.
import { Command } from 'commander';
import type { CommandContext } from './context.js';
import { register as registerBackup } from './image-backup.js';
import { register as registerExport } from './image-export.js';
import { register as registerList } from './image-list.js';
import { register as registerRestore } from './image-restore.js';
import { register as registerRm } from './image-rm.js';
import { register as registerVerify } from './image-verify.js';
import { register as registerGc } from './store-gc.js';
import { register as registerServe } from './serve.js';
import { register as registerMachines } from './machines.js';
import { register as registerJobs } from './jobs.js';
import { register as registerSchedule } from './schedule.js';
import { register as registerTui } from './tui.js';
import { register as registerDashboard } from './dashboard.js';
import { register as registerAudit } from './audit.js';
import { register as registerDocs } from './command-docs.js';
import { register as registerNotify } from './notify.js';
import { register as registerBootos } from './bootos.js';
import { register as registerBootmedia } from './bootmedia.js';
import { register as registerAppliance } from './appliance.js';
import { VERSION } from '../version.js';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('lifeboat')
    .description('Lifeboat backup appliance: network-boot, image, deduplicate, restore')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // One error prefix for every message, commander's own usage errors included.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'lifeboat: ')) });
  // `lifeboat local …` works on an image store directory itself, as root, with no daemon;
  // `lifeboat images …` asks the daemon about the appliance's images. The old spellings
  // `lifeboat image …` and `lifeboat store gc` stay as aliases.
  const local = program.command('local').alias('image').description('imaging on an image store directory as root, no daemon: backup, restore, verify, list, show, export, rm, gc');
  registerBackup(local, ctx);
  registerRestore(local, ctx);
  registerVerify(local, ctx);
  registerList(local);
  registerExport(local, ctx);
  registerRm(local);
  registerGc(local);
  const store = program.command('store').description('alias of `lifeboat local gc`');
  registerGc(store);
  registerServe(program);
  registerMachines(program);
  registerJobs(program);
  registerSchedule(program);
  registerAudit(program);
  registerNotify(program);
  registerDocs(program);
  registerTui(program);
  registerDashboard(program, ctx);
  registerBootos(program);
  registerBootmedia(program, ctx);
  registerAppliance(program);
  // Every command and subcommand throws instead of exiting, so one place picks exit codes.
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

