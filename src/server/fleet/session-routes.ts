/**
 * The dashboard's log-in (issue 15): `POST /api/admin/v1/session {userId, password}` → a 12-hour
 * `tfa_` token with the user's role's scopes; `POST /api/admin/v1/users/<id>/password` sets a
 * password (admin, or the user for themself). Passwords are kept as scrypt hashes
 * (`password-hash.ts`); a failed log-in says nothing about which half was wrong.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { FleetError } from '../../errors.js';
import type { ApiToken } from '../store/fleet-store.js';
import type { RolloutStore } from '../store/rollout-store.js';
import { auditOf } from './admin-device-routes.js';
import { authenticateUser } from './auth.js';
import type { FleetContext } from './context.js';
import { ID } from './schemas.js';
import { newId, newToken, ROLE_SCOPES, USER_TOKEN_PREFIX } from './tokens.js';

const BASE = '/api/admin/v1';
const SESSION_HOURS = 12;
const PASSWORD = { type: 'string', minLength: 1, maxLength: 1024 } as const;

/** Register the log-in and password routes. */
export function sessionRoutes(
  app: FastifyInstance,
  ctx: FleetContext,
  rollouts: RolloutStore,
): void {
  app.post<{ Body: { userId: string; password: string } }>(
    `${BASE}/session`,
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['userId', 'password'],
          properties: { userId: ID, password: PASSWORD },
        },
      },
    },
    async (request, reply) => {
      const { userId, password } = request.body;
      const user = await ctx.store.getUser(userId);
      if (user === undefined || !(await rollouts.checkPassword(userId, password))) {
        throw new FleetError('ERR_TUF_FLEET_UNAUTHENTICATED', 'wrong user id or password');
      }
      const now = ctx.now();
      const { secret, sha256 } = newToken(USER_TOKEN_PREFIX);
      const token: ApiToken = {
        tokenId: newId(),
        userId,
        sha256,
        scopes: [...ROLE_SCOPES[user.role]],
        description: 'dashboard session',
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + SESSION_HOURS * 3600_000).toISOString(),
      };
      await ctx.store.createToken(token, {
        actor: `user:${userId}`,
        action: 'session.create',
        subject: `token:${token.tokenId}`,
        from: request.ip,
        at: now.toISOString(),
        after: { tokenId: token.tokenId, userId, scopes: token.scopes, expiresAt: token.expiresAt },
      });
      return reply.code(201).send({ token: secret, expiresAt: token.expiresAt, user });
    },
  );

  app.post<{ Params: { id: string }; Body: { password: string } }>(
    `${BASE}/users/:id/password`,
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: ID } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['password'],
          properties: { password: PASSWORD },
        },
      },
    },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'read');
      const self = principal.user.userId === request.params.id;
      if (!self && principal.user.role !== 'admin') {
        throw new FleetError(
          'ERR_TUF_FLEET_FORBIDDEN',
          "only an admin sets another user's password",
        );
      }
      if (!self) await authenticateUser(ctx, request, 'admin');
      await rollouts.setPassword(
        request.params.id,
        request.body.password,
        ctx.now().toISOString(),
        auditOf(ctx, request, principal, 'user.password', `user:${request.params.id}`),
      );
      return reply.code(204).send();
    },
  );
}
