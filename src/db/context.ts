// What every collection module gets: the tables, the write lock, the clock.
import { randomBytes } from 'node:crypto';
import type { DiskDoc } from './disks.js';
import type { EventDoc } from './events.js';
import type { ImageDoc } from './images.js';
import type { JobDoc } from './jobs.js';
import type { LeaseDoc } from './leases.js';
import type { MachineDoc } from './machines.js';
import type { MediumDoc } from './media.js';
import type { ScheduleDoc } from './schedules.js';
import type { SettingsDoc } from './settings.js';
import type { Health, Mutex, Table } from './table.js';

export interface Tables {
  machines: Table<MachineDoc>;
  disks: Table<DiskDoc>;
  images: Table<ImageDoc>;
  jobs: Table<JobDoc>;
  schedules: Table<ScheduleDoc>;
  settings: Table<SettingsDoc>;
  events: Table<EventDoc>;
  leases: Table<LeaseDoc>;
  media: Table<MediumDoc>;
}

export interface StoreContext {
  tables: Tables;
  /** Every write that checks before it writes runs under this lock, so the check still holds. */
  lock: Mutex;
  health: Health;
  now(): Date;
}

/** 12 hex digits: short enough to type in `lifeboat jobs cancel <id>`, random enough for one appliance. */
export function newId(): string {
  return randomBytes(6).toString('hex');
}

export const ID_PATTERN = /^[0-9a-f]{12}$/;
