/**
 * `createFleetApp`: the fleet server's HTTP application on Fastify — the image repository under
 * `/repo/`, the director under `/director/`, the device API and the admin API
 * (docs/fleet-server-api.md).
 *
 * Fastify rather than `node:http` for what every route needs and would otherwise be written by
 * hand: JSON-schema validation of bodies, queries and params (Ajv, strict: unknown properties
 * are refused, not stripped, and no type coercion), per-route body limits, request hooks and
 * structured logs (pino).
 *
 * Every answer to a refused request is `{"error": {"code", "message"}}` (`http-errors.ts`).
 * Bookkeeping writes of accepted requests (token `lastUsedAt`, device last contact) run in the
 * `onSend` hook only when the status is below 400, so a refused request writes nothing.
 *
 * Safe for concurrent requests; the director serializes its own writes.
 *
 * @module
 */

import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { FleetError } from '../../errors.js';
import { serveStaticRequest } from '../static-server.js';
import { adminDeviceRoutes } from './admin-device-routes.js';
import { adminPeopleRoutes } from './admin-people-routes.js';
import { authenticateDevice, authenticateUser, runAfterSuccess } from './auth.js';
import type { FleetContext } from './context.js';
import { dashboardRoute } from './dashboard-route.js';
import { deviceRoutes } from './device-routes.js';
import { errorAnswer } from './http-errors.js';
import { rolloutRoutes } from './rollout-routes.js';
import { sessionRoutes } from './session-routes.js';

/** Options of {@link createFleetApp}. */
export interface FleetAppOptions {
  /** The real path of the repository directory (`resolveStaticRoot`). */
  repositoryRoot: string;
  /** TLS settings: HTTPS, and client certificates for mTLS. */
  https?: HttpsServerOptions;
  /** pino options or `false` (tests). */
  logger?: FastifyServerOptions['logger'];
}

/**
 * Build the application (not yet listening).
 *
 * @example
 * ```ts
 * const app = await createFleetApp(ctx, { repositoryRoot: await resolveStaticRoot(dir) });
 * await app.listen({ host: '127.0.0.1', port: 0 });
 * ```
 */
export async function createFleetApp(
  ctx: FleetContext,
  options: FleetAppOptions,
): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: 5000,
    routerOptions: { maxParamLength: 256 },
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    ajv: {
      // Refuse what the schema does not name instead of silently dropping it, and never turn
      // "true" into true: a body is valid as sent or refused.
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false },
    },
    ...(options.https !== undefined ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((error, request, reply) => {
    const answer = errorAnswer(error);
    if (answer.internal) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: answer.body.error.code }, answer.body.error.message);
    return reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = errorAnswer(
      new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no endpoint ${request.method} ${request.url}`),
    );
    return reply.code(answer.status).send(answer.body);
  });
  app.addHook('onSend', async (request, reply) => {
    await runAfterSuccess(request, reply.statusCode);
  });

  app.get('/health', async () => ({ status: 'ok' }));

  // The image repository, served by the same code as `tufota serve` (path safety, ETag, Range).
  app.route({
    method: ['GET', 'HEAD'],
    url: '/repo/*',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const auth = request.headers.authorization;
      if (auth?.startsWith('Bearer tfa_') === true) await authenticateUser(ctx, request, 'read');
      else await authenticateDevice(ctx, request);
      await runAfterSuccess(request, 200);
      reply.hijack();
      const raw = request.raw.url ?? '/repo/';
      await serveStaticRequest(options.repositoryRoot, request.raw, reply.raw, {
        rawPath: raw.slice('/repo'.length),
      });
    },
  });

  deviceRoutes(app, ctx);
  adminDeviceRoutes(app, ctx);
  adminPeopleRoutes(app, ctx);
  if (ctx.rollouts !== undefined) {
    rolloutRoutes(app, ctx, ctx.rollouts.store, ctx.rollouts.service);
    sessionRoutes(app, ctx, ctx.rollouts.store);
  }
  await app.register(dashboardRoute);
  await app.ready();
  return app;
}
