import { MemoryLeaseStore } from './lease-store.js';
import { leaseStoreSuite } from './lease-store.suite.js';

leaseStoreSuite('memory', async () => ({ store: new MemoryLeaseStore(), cleanup: async () => {} }));
