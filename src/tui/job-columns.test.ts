import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ETA_W, PCT_W, STATE_W, TARGET_MAX, TARGET_MIN, TYPE_W, jobColumns } from './job-columns.js';

const used = (width: number) => {
  const c = jobColumns(width);
  const cells = [c.type, c.target, c.state, ...(c.bar ? [c.bar] : []), PCT_W, ...(c.rate ? [12] : []), ...(c.ratio ? [5] : []), ...(c.newReused ? [11] : []), ETA_W];
  return 2 + cells.reduce((a, b) => a + b, 0) + cells.length - 1;
};

describe('jobColumns', () => {
  it('at 80 columns: target at least 20 wide, the state whole, MB/s and a bar kept, LZ4 and new/reused dropped', () => {
    const c = jobColumns(80);
    assert.ok(c.target >= TARGET_MIN, `target ${c.target}`);
    assert.equal(c.state, STATE_W);
    assert.ok('interrupted'.length <= c.state && 'cancelling'.length <= c.state);
    assert.equal(c.rate, true);
    assert.ok(c.bar >= 6);
    assert.equal(c.ratio, false);
    assert.equal(c.newReused, false);
    assert.equal(used(80), 80, 'the row fills the width exactly');
  });

  it('at 120 columns everything shows and the target reaches its widest', () => {
    const c = jobColumns(120);
    assert.deepEqual([c.rate, c.ratio, c.newReused, c.bar > 6, c.target], [true, true, true, true, TARGET_MAX]);
    assert.equal(used(120), 120);
  });

  it('never wider than the terminal, and the fields drop lowest priority first, from 40 to 200 columns', () => {
    let before = jobColumns(200);
    for (let w = 200; w >= 40; w--) {
      const c = jobColumns(w);
      assert.ok(used(w) <= Math.max(w, 2 + TYPE_W + 1 + 8 + 1 + STATE_W + 1 + PCT_W + 1 + ETA_W), `width ${w}: ${used(w)}`);
      // What a narrower terminal shows is a subset of what a wider one shows.
      if (c.newReused) assert.ok(c.ratio && c.bar && c.rate, `width ${w}`);
      if (c.ratio) assert.ok(c.bar && c.rate, `width ${w}`);
      if (c.bar) assert.ok(c.rate, `width ${w}`);
      for (const k of ['rate', 'ratio', 'newReused'] as const) if (c[k]) assert.ok(before[k], `width ${w}: ${k} appears when narrower`);
      if (w >= 60) assert.ok(c.target >= TARGET_MIN, `width ${w}: target ${c.target}`);
      before = c;
    }
  });
});
