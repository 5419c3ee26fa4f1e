// The API: one contract, two surfaces. route-table.ts declares every route once (method,
// path, surface, the schemas of its body, parameters and query, its status and response
// type); wire.ts every type that travels, events included; schemas.ts the zod schemas.
// The typed client (client.ts) and the server's dispatch (dispatch.ts) are both derived
// from the table, so they cannot drift apart without a compile error.
//
// Invariants:
// - The contract (contract.ts, route-table.ts, wire.ts, schemas.ts, constants.ts) and the
//   client import nothing of the daemon, the management store, the engine or the UIs: the
//   agent bundles them into the boot OS (contract-bundle.test.ts checks the bundle).
// - The client loads no zod (the CLI's start-up); the server validates every path
//   parameter, query and body against the table's schemas before a handler runs.
// - Handlers (routes.ts) get their services as interfaces (services.ts) in wire types; the
//   daemon's composition root wires the real ones (src/daemon/api-services.ts).
// - Authentication is per surface, in its transport: the operator surface is the Unix
//   socket (mode 0660, peers named by uid; server.ts, peer.ts); the agent surface (TCP on
//   the boot interface, one-job tokens, later TLS) will get its own transport over the
//   same table and dispatcher('agent', …). No handler checks who is asking.
export * from './contract.js';
export { ApiClient, type Args, DaemonUnreachable, type RouteMethods } from './client.js';
export { type ApiRequest, type ApiResponse, type Handler, type HandlerInput, type Handlers, dispatcher, errorResponse } from './dispatch.js';
export type { JobRequest, NewScheduleRecord, OperatorServices } from './services.js';
