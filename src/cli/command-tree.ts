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
import { VERSION } from '../version.js';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('lifeboat')
    .description('Lifeboat backup appliance: network-boot, image, deduplicate, restore')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // One error prefix for every message, commander's own usage errors included.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'lifeboat: ')) });
  const image = program.command('image').description('local imaging against a store directory, no daemon needed');
  registerBackup(image, ctx);
  registerRestore(image, ctx);
  registerVerify(image, ctx);
  registerList(image);
  registerExport(image, ctx);
  registerRm(image);
  const store = program.command('store').description('maintain an image store');
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
  registerBootmedia(program);
  // Every command and subcommand throws instead of exiting, so one place picks exit codes.
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

