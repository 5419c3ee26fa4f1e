import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brailleAscii, brailleTable } from './ascii.js';

test('braille cells become the ASCII closest to their dots; anything else is not braille', () => {
  assert.equal(brailleAscii('⠀'), ' ');
  assert.equal(brailleAscii('⡇'), '|', 'the y axis: the left column of dots');
  assert.equal(brailleAscii('⢸'), '|', 'the right column');
  assert.equal(brailleAscii('⠒'), '-', 'the x axis: the second row');
  assert.equal(brailleAscii('⣀'), '_', 'a zero line: the bottom row');
  assert.equal(brailleAscii('⠉'), "'", 'the top row');
  assert.equal(brailleAscii('⢎'), '*');
  assert.equal(brailleAscii('a'), undefined);
  assert.equal(brailleAscii('─'), undefined);
  const table = brailleTable();
  assert.equal(Object.keys(table).length, 256);
  assert.ok(Object.values(table).every((v) => v.length === 1 && v.charCodeAt(0) >= 0x20 && v.charCodeAt(0) < 0x7f), 'all printable ASCII');
});
