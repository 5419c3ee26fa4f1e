// The agent will carry the contract and the client into the boot OS: an esbuild bundle
// of them must hold none of the daemon, the management store (NeDB), the console, the
// dashboard, the CLI or the engine's internals. And the client alone must not load zod
// (the CLI's start-up). The module lists come from esbuild's metafile; the sizes are
// printed for the record.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Inputs no client bundle may hold: anything below the contract, or beside it in the appliance. */
const FORBIDDEN = [/^src\/(daemon|store|tui|dashboard|cli|imaging|boot|jobs)\//, /node_modules\/(@seald-io|nedb|nedb-promises|ink|react|blessed|blessed-contrib|lz4|commander)\//, /^src\/api\/(server|routes|dispatch|services|peer)\.ts$/];

async function bundle(entry: string, minify = false) {
  const r = await build({
    stdin: { contents: entry, resolveDir: here, loader: 'ts', sourcefile: 'agent-entry.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    minify,
    logLevel: 'silent',
    absWorkingDir: join(here, '..', '..'),
  });
  const inputs = Object.keys(r.metafile.inputs);
  const bytes = r.outputFiles.reduce((sum, f) => sum + f.contents.length, 0);
  return { inputs, bytes };
}

test('a bundle of the contract and the client holds no daemon, store, console, engine or NeDB code', async () => {
  const { inputs, bytes } = await bundle("export * from './contract.js';\nexport * from './client.js';\n");
  const min = await bundle("export * from './contract.js';\nexport * from './client.js';\n", true);
  const forbidden = inputs.filter((i) => FORBIDDEN.some((f) => f.test(i)));
  assert.deepEqual(forbidden, [], `the agent's bundle pulls in: ${forbidden.join(', ')}`);
  // It is the contract itself: these must be in it, or the check above proves nothing.
  for (const wanted of ['src/api/contract.ts', 'src/api/route-table.ts', 'src/api/schemas.ts', 'src/api/wire.ts', 'src/api/client.ts']) assert.ok(inputs.includes(wanted), `${wanted} missing from ${inputs.join(', ')}`);
  assert.ok(inputs.some((i) => i.includes('node_modules/zod/')), 'the schemas bring zod');
  const ours = inputs.filter((i) => !i.includes('node_modules/'));
  process.stdout.write(`# contract + client bundle: ${inputs.length} modules (${ours.join(', ')}), ${bytes} bytes, ${min.bytes} minified\n`);
});

test('the client alone loads no zod and no schemas (the CLI starts without them)', async () => {
  const { inputs, bytes } = await bundle("export * from './client.js';\n");
  const heavy = inputs.filter((i) => i.includes('node_modules/zod/') || i === 'src/api/schemas.ts' || FORBIDDEN.some((f) => f.test(i)));
  assert.deepEqual(heavy, []);
  assert.ok(inputs.includes('src/api/route-table.ts'), 'the client is made from the route table');
  process.stdout.write(`# client bundle: ${inputs.length} modules, ${bytes} bytes\n`);
});

test('the forbidden list catches what it should: a bundle of the route handlers fails it', async () => {
  const { inputs } = await bundle("export * from './routes.js';\n");
  assert.ok(inputs.some((i) => FORBIDDEN.some((f) => f.test(i))), `expected forbidden inputs among ${inputs.join(', ')}`);
});
