// What the console needs from the operator API: a slice of ApiClient, so component
// tests can pass an in-memory twin and the real console passes the socket client.
import type { ApiClient } from '../api/client.js';

export type TuiClient = Pick<
  ApiClient,
  'machines' | 'machine' | 'addMachine' | 'editMachine' | 'removeMachine' | 'wakeMachine' | 'images' | 'removeImage' | 'jobs' | 'createJob' | 'cancelJob' | 'schedules' | 'removeSchedule' | 'appliance' | 'devices' | 'events'
>;
