import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameWriter, asciiOnly, diffFrame, toLines } from './frame-writer.js';

describe('diffFrame', () => {
  it('clears and paints the first frame, then rewrites only changed lines', () => {
    assert.equal(diffFrame(null, ['a', '', 'c']), '\x1b[H\x1b[2J\x1b[1;1H\x1b[2Ka\x1b[3;1H\x1b[2Kc');
    assert.equal(diffFrame(['a', 'b', 'c'], ['a', 'B', 'c']), '\x1b[2;1H\x1b[2KB');
    assert.equal(diffFrame(['a', 'b'], ['a', 'b']), '');
  });

  it('keeps ASCII as is and turns anything else into one ASCII character', () => {
    assert.equal(asciiOnly('\x1b[1mok\x1b[22m reconnecting… a → b ● ✓'), '\x1b[1mok\x1b[22m reconnecting. a > b * ?');
  });

  it('pads and cuts frames to the terminal height', () => {
    assert.deepEqual(toLines('x\ny', 3), ['x', 'y', '']);
    assert.deepEqual(toLines('1\n2\n3\n4', 2), ['1', '2']);
  });
});

describe('FrameWriter', () => {
  it('coalesces frames, ignores lone control sequences, repaints fully after a resize', async () => {
    const out: string[] = [];
    const w = new FrameWriter({ write: (s: string) => out.push(s) }, { columns: 10, rows: 2 }, { minIntervalMs: 0 });
    let resized = 0;
    w.on('resize', () => resized++);
    w.write('one\ntwo');
    w.write('\x1b[?25h');
    await new Promise((r) => setTimeout(r, 5));
    w.write('one\nTWO');
    w.write('one\nthree');
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(out, ['\x1b[H\x1b[2J\x1b[1;1H\x1b[2Kone\x1b[2;1H\x1b[2Ktwo', '\x1b[2;1H\x1b[2Kthree']);
    w.resize(20, 3);
    assert.equal(resized, 1);
    assert.equal(w.columns, 20);
    w.write('one\nthree');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(out[2], '\x1b[H\x1b[2J\x1b[1;1H\x1b[2Kone\x1b[2;1H\x1b[2Kthree');
    w.stop();
    w.write('after stop');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(out.length, 3);
  });
});
