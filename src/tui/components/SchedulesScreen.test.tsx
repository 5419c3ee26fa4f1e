import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import type { ScheduleView } from '../../api/contract.js';
import { initialData } from '../data-state.js';
import { SchedulesScreen } from './SchedulesScreen.js';

process.env.TZ = 'UTC';

const base: ScheduleView = { id: 'a1b2c3d4e5f6', name: 'nightly', target: { machines: ['pc-1'] }, calendar: 'daily', retention: {}, enabled: true, createdAt: '2026-12-01T00:00:00Z', updatedAt: '2026-12-01T00:00:00Z', nextRun: null };

test("the selected schedule says where its machines' backups go when not to the appliance", () => {
  const shown = (s: ScheduleView) => {
    const { lastFrame, unmount } = render(<SchedulesScreen data={initialData} rows={[s]} selected={0} width={100} height={16} />);
    const frame = lastFrame() ?? '';
    unmount();
    return frame;
  };
  assert.match(shown({ ...base, destination: { kind: 'client-disk', label: 'LBUSB' } }), /backs up pc-1 to disk:LABEL=LBUSB/);
  assert.match(shown({ ...base, destination: { kind: 'share', name: 'nas' } }), /backs up pc-1 to share:nas/);
  const plain = shown(base);
  assert.match(plain, /backs up pc-1/);
  assert.doesNotMatch(plain, /backs up pc-1 to/);
});
