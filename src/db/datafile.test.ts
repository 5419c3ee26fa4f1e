import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLineBreakers, needsExplicitRepair, repairDatafile, scanDatafile } from './datafile.js';

const file = (...lines: string[]) => Buffer.from(lines.join(''));

test('a clean file, an empty file, blank lines and CRLF line ends have no problems', () => {
  for (const bytes of [
    file('{"_id":"a"}\n', '{"_id":"b","x":1}\n'),
    Buffer.alloc(0),
    file('\n\n{"_id":"a"}\n\n'),
    file('{"_id":"a"}\r\n{"_id":"b"}\r\n'),
    file('{"_id":"a"}\n{"_id":"b"}'), // last line complete JSON without '\n': fine
  ]) {
    const scan = scanDatafile(bytes);
    assert.deepEqual(scan.problems, [], bytes.toString());
    assert.equal(scan.truncatedTail, null);
  }
  assert.equal(scanDatafile(file('\n\n{"_id":"a"}\n\n')).lines, 1);
});

test('damaged complete lines are reported with their line numbers and kinds', () => {
  const bytes = Buffer.concat([
    file('{"_id":"a"}\n', '{"_id":"b", oops}\n', '\n', 'null\n', '[1,2]\n'),
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"\xff\xfe"} : not UTF-8
    file('{"_id":"c"}\n'),
  ]);
  const scan = scanDatafile(bytes);
  assert.deepEqual(
    scan.problems.map((p) => [p.line, p.kind]),
    [
      [2, 'not-json'],
      [4, 'not-an-object'],
      [5, 'not-an-object'],
      [6, 'not-utf8'],
    ],
  );
  assert.equal(scan.truncatedTail, null);
  assert.match(scan.problems[0]?.reason ?? '', /not valid JSON/);
  assert.match(scan.problems[0]?.excerpt ?? '', /oops/);
  assert.ok(needsExplicitRepair(scan));
  assert.equal(repairDatafile(bytes, scan).toString(), '{"_id":"a"}\n{"_id":"c"}\n');
});

test('an unparsable last line with no newline is a truncated tail, not a problem', () => {
  const bytes = file('{"_id":"a","v":1}\n', '{"_id":"a","v":2}\n', '{"_id":"a","v');
  const scan = scanDatafile(bytes);
  assert.deepEqual(scan.problems, []);
  assert.equal(scan.truncatedTail?.line, 3);
  assert.equal(needsExplicitRepair(scan), false);
  assert.equal(repairDatafile(bytes, scan).toString(), '{"_id":"a","v":1}\n{"_id":"a","v":2}\n');
  // NUL bytes where a crash left the appended block unwritten: also a tail.
  const zeros = Buffer.concat([file('{"_id":"a"}\n'), Buffer.alloc(300)]);
  assert.equal(scanDatafile(zeros).truncatedTail?.line, 2);
  assert.equal(repairDatafile(zeros, scanDatafile(zeros)).toString(), '{"_id":"a"}\n');
});

test('a damaged line followed by a newline is a problem even at the end', () => {
  const scan = scanDatafile(file('{"_id":"a"}\n', '{"_id":"b\n'));
  assert.equal(scan.truncatedTail, null);
  assert.deepEqual(scan.problems.map((p) => p.line), [2]);
});

test('raw line separators inside strings are fixed losslessly by escaping', () => {
  const bytes = file('{"_id":"a","notes":"one\u2028two\u0085three"}\n', '{"_id":"b"}\n');
  const scan = scanDatafile(bytes);
  assert.deepEqual(scan.problems.map((p) => [p.line, p.kind]), [[1, 'line-breaker']]);
  assert.match(scan.problems[0]?.reason ?? '', /U\+2028/);
  assert.equal(needsExplicitRepair(scan), false);
  const repaired = repairDatafile(bytes, scan).toString();
  assert.equal(repaired, '{"_id":"a","notes":"one\\u2028two\\u0085three"}\n{"_id":"b"}\n');
  assert.deepEqual(scanDatafile(Buffer.from(repaired)).problems, []);
  assert.equal((JSON.parse(repaired.split('\n')[0] ?? '') as { notes: string }).notes, 'one\u2028two\u0085three');
});

test('escapeLineBreakers keeps the JSON value and leaves other text alone', () => {
  const value = { s: 'a\u2028b\u2029c\u0085d\re\vf\fg\n', plain: 'héllo ✓' };
  const escaped = escapeLineBreakers(JSON.stringify(value));
  // eslint-disable-next-line no-control-regex -- the characters under test
  assert.doesNotMatch(escaped, /[\r\u000b\u000c\u0085\u2028\u2029\n]/);
  assert.deepEqual(JSON.parse(escaped), value);
  assert.equal(escapeLineBreakers('{"a":"plain"}'), '{"a":"plain"}');
});

test('the scan gives the same result whatever the line lengths (fuzz)', () => {
  for (let round = 0; round < 200; round++) {
    const lines: string[] = [];
    const bad = new Set<number>();
    const count = 1 + Math.floor(Math.random() * 20);
    for (let i = 1; i <= count; i++) {
      const doc = JSON.stringify({ _id: `d${i}`, pad: 'x'.repeat(Math.floor(Math.random() * 200)) });
      if (Math.random() < 0.2) {
        bad.add(i);
        lines.push(doc.slice(0, Math.floor(Math.random() * (doc.length - 1))));
      } else lines.push(doc);
    }
    const scan = scanDatafile(Buffer.from(`${lines.join('\n')}\n`));
    assert.deepEqual(scan.problems.map((p) => p.line), [...bad].filter((n) => (lines[n - 1] ?? '') !== ''));
  }
});
