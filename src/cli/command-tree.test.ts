import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Command } from 'commander';
import { bashCompletion, manPage, walk } from './command-docs.js';
import { buildProgram } from './command-tree.js';

const program = () => buildProgram({ signal: new AbortController().signal, confirm: async () => false });

/** The help text of a command as commander prints it. */
const helpOf = (c: Command) => c.helpInformation();

test('every subcommand has a one-line description, every option one too, and no "(default: [])" leaks into help', () => {
  const nodes = walk(program());
  assert.ok(nodes.length > 40, `the whole tree (${nodes.length} commands)`);
  for (const { path, command } of nodes) {
    assert.ok(command.description().length > 0, `lifeboat ${path.join(' ')} has no description`);
    assert.doesNotMatch(command.description(), /\n/, `lifeboat ${path.join(' ')}: one line`);
    for (const o of command.options) assert.ok(o.description.length > 0, `lifeboat ${path.join(' ')} ${o.flags} has no description`);
    assert.doesNotMatch(helpOf(command), /default: \[\]/, `lifeboat ${path.join(' ')}`);
  }
});

test('bash completion: a real bash completes subcommands by position and options of the command typed', () => {
  const script = bashCompletion(program());
  const complete = (...words: string[]) => {
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _lifeboat; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').sort();
  };
  assert.deepEqual(complete('lifeboat', 'sche'), ['schedule']);
  assert.deepEqual(complete('lifeboat', 'schedule', 'e'), ['edit', 'enable']);
  assert.ok(complete('lifeboat', 'images', 'prune', '--keep-').includes('--keep-weekly'));
  assert.ok(complete('lifeboat', 'jobs', 'list', '--json', '--s').includes('--since'), 'options after options');
});

test('the man page is valid roff that man renders, with every command in it', () => {
  const page = manPage(program());
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '', 'groff warns about nothing');
  const text = spawnSync('groff', ['-man', '-Tascii', '-P-cbou'], { input: page, encoding: 'utf8' }).stdout;
  for (const { path } of walk(program())) assert.ok(text.includes(`lifeboat ${path.join(' ')}`), `lifeboat ${path.join(' ')} is in the man page`);
  assert.match(text, /--keep-last <n>/);
});
