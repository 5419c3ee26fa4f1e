import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, bar, duration, fit, fitPath, shortBytes, sparkline, windowStart } from './format.js';
import { detectCaps } from './terminal.js';

describe('format', () => {
  it('sizes, durations, ages', () => {
    assert.equal(shortBytes(0), '0B');
    assert.equal(shortBytes(1536), '1.50K');
    assert.equal(shortBytes(200 * 2 ** 30), '200G');
    assert.equal(duration(75), '1m15s');
    assert.equal(duration(3725), '1h02m');
    assert.equal(duration(null), '--');
    assert.equal(age('2026-11-25T10:00:00Z', Date.parse('2026-11-27T11:00:00Z')), '2d');
    assert.equal(age(undefined, 0), 'never');
  });

  it('bars and sparklines keep their width, in Unicode and ASCII', () => {
    assert.equal(bar(0.5, 10, true), '#####-----');
    assert.equal(bar(1, 4, false), '████');
    assert.equal(bar(0.55, 10, false).length, 10);
    assert.equal(sparkline([0, 5, 10], 10, true), '_=@');
    assert.equal(sparkline([1, 2, 3, 4, 5], 3, false).length, 3);
    assert.equal(sparkline([0, 0], 5, false), '▁▁');
  });

  it('fits text and paths, and keeps a selection in its window', () => {
    assert.equal(fit('abcdef', 4), 'abc…');
    assert.equal(fit('abcdef', 4, { ascii: true }), 'abc~');
    assert.equal(fit('ab', 4, { pad: true }), 'ab  ');
    assert.equal(fitPath('/tmp/x/disk.img', 9), '…disk.img');
    assert.equal(windowStart(100, 50, 10), 45);
    assert.equal(windowStart(100, 99, 10), 90);
    assert.equal(windowStart(5, 4, 10), 0);
  });

  it('ASCII on the Linux console and without a UTF-8 locale; NO_COLOR', () => {
    assert.deepEqual(detectCaps({ TERM: 'linux', LANG: 'en_US.UTF-8' }), { ascii: true, color: true });
    assert.deepEqual(detectCaps({ TERM: 'xterm-256color', LANG: 'C' }), { ascii: true, color: true });
    assert.deepEqual(detectCaps({ TERM: 'xterm-256color', LC_ALL: 'C.UTF-8', NO_COLOR: '1' }), { ascii: false, color: false });
  });
});

it('fit and fitPath show control characters and bidi overrides escaped, measured as shown', () => {
  assert.equal(fit('lab\u001b[2J\u001b]0;PWN\u0007gel', 40), 'lab\\x1b[2J\\x1b]0;PWN\\x07gel');
  assert.equal(fit('a\u202eb', 4), 'a\\u…');
  assert.equal(fitPath('/dev/\u001bx', 12), '/dev/\\x1bx  ');
});
