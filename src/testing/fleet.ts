/**
 * `tufota/testing/fleet`: a simulated fleet on a real fleet server (issue 15). Separate from
 * `tufota/testing` because it loads the server (Fastify, SQLite).
 *
 * @module
 */
export * from './fleet-rollout-scenario.js';
export * from './fleet-simulation.js';
