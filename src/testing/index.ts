/**
 * Test helpers for TUF clients, public so that integrators test their own code the way tufota
 * tests itself: an in-memory repository that is also a fetcher ({@link RepositorySimulator}),
 * hostile response bodies ({@link AttackFetcher}), and an HTTP wrapper ({@link serveSimulator})
 * for clients that run in another process or need a real socket.
 *
 * Never use these in production code: they hold private keys in memory and sign on demand.
 *
 * @example
 * ```ts
 * import { RepositorySimulator, serveSimulator } from 'tufota/testing';
 * const sim = await RepositorySimulator.create({ consistentSnapshot: true });
 * const server = await serveSimulator(sim);
 * // … point a client at server.metadataUrl …
 * await server.close();
 * ```
 *
 * @module
 */
export {
  AttackFetcher,
  type AttackRule,
  attackBody,
  declaresLength,
  type ResponseAttack,
} from './attacks.js';
export { type ServeSimulatorOptions, type SimulatorServer, serveSimulator } from './http-server.js';
export {
  type FetchRecord,
  type KeyPair,
  RepositorySimulator,
  type RepositorySimulatorOptions,
  type SimulatedTarget,
  type Tamperer,
} from './repository-simulator.js';
