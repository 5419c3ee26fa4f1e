#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts(x) and test/**/*.test.ts(x)) with node's own
// test runner through tsx. Arguments filter by substring of the path, so
// `node test/run-tests.mjs chunker` runs only the chunker tests.
// The summary node prints at the end (# tests / # pass / # fail) is what CI reads.
//
// A skipped test is a failure: the run exits 1 and names each skipped test and why (a tool
// the Makefile should install, root). A developer running a subset without root says so
// with LIFEBOAT_ALLOW_SKIP=1; CI and `make test` never do.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Tests written ahead of what they test (they cannot pass yet): left out of every run unless
// named by absolute path (`node test/run-tests.mjs "$PWD/test/e2e/agent-lab.integration.test.ts"`).
// Switching one on is deleting its line here.
function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts') || entry.name.endsWith('.test.tsx')) found.push(relative(root, path));
  }
  return found;
}

const filters = process.argv.slice(2);
// An argument that is an existing test file's absolute path runs that file (the runner's own test).
const explicit = filters.filter((f) => f.startsWith('/') && /\.test\.tsx?$/.test(f) && existsSync(f));
const matching = [...findTests(join(root, 'src')), ...findTests(join(root, 'test'))]
  .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
  .sort();
const files = explicit.length > 0 ? explicit : matching;
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-tests-'));
const skipsFile = join(scratch, 'skipped.jsonl');
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=2',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'test/skip-reporter.mjs')}`, `--test-reporter-destination=${skipsFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
let skipped = [];
try {
  skipped = readFileSync(skipsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
} catch {
  // no file: the runner wrote no skip (or never started; its status says so)
}
rmSync(scratch, { recursive: true, force: true });
let status = result.status ?? 1;
if (skipped.length > 0) {
  const allowed = process.env.LIFEBOAT_ALLOW_SKIP === '1';
  console.error(`\n${skipped.length} test(s) skipped${allowed ? ' (allowed by LIFEBOAT_ALLOW_SKIP=1)' : ' — a skip is a failure here'}:`);
  for (const s of skipped) console.error(`  ${relative(root, s.file.replace(/^file:\/\//, '')) || '?'}: ${s.name} — ${s.reason}`);
  if (!allowed) {
    console.error('Install what is missing (make apt), run as root, or set LIFEBOAT_ALLOW_SKIP=1 to run a subset on purpose.');
    if (status === 0) status = 1;
  }
}
process.exit(status);
