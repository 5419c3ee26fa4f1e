#!/usr/bin/env node
// The `lifeboat` command. Imaging commands start their worker threads first thing: a thread
// boots in ~0.1 s, as long as the rest of the program takes to load, so they overlap.
import { startChunkWorkers } from '../imaging/chunk-pool.js';

const [command, subcommand] = process.argv.slice(2);
if (command === 'image' && ['backup', 'restore', 'export', 'verify'].includes(subcommand ?? '') && !process.argv.includes('--help')) startChunkWorkers();
await import('./program.js');
