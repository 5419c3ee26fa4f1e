// The API's contract, shared by the daemon, the CLI, the console, the dashboard and
// (later) the agent: every route declared once (route-table.ts), the schemas of what
// clients send (schemas.ts), and every type that travels, events included (wire.ts).
// Version prefix /v1; bodies are JSON of at most MAX_BODY bytes. It imports nothing of
// the daemon, the management store or the engine: a bundle of it and the client carries
// none of them (contract-bundle.test.ts checks).
export * from './wire.js';
export * from './schemas.js';
export { ROUTES, type CallName, type Method, type ResponseOf, type RouteName, type RouteSpec, type Routes, type RoutesOf, type Surface } from './route-table.js';
export { API_PREFIX, DEFAULT_SOCKET, MAX_BODY, OPERATOR_HEADER, scheduleTargetText } from './constants.js';
