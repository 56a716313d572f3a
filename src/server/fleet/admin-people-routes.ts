/**
 * The admin API's people endpoints: users (admin), API tokens (anyone for their own, scopes no
 * wider than their role and than the token they act with; admins for anyone) and the audit log
 * (admin). Granting access (a user, a role, a token) and revoking it (disabling a user, lowering a
 * role, revoking a token) are audit entries like every other write, committed with the write.
 *
 * Token secrets are returned once, at creation; listings never carry secrets or digests.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { FleetError } from '../../errors.js';
import type { ApiToken, FleetUser, TokenScope, UserRole } from '../store/fleet-store.js';
import { auditOf } from './admin-device-routes.js';
import { authenticateUser, type UserPrincipal } from './auth.js';
import { type FleetContext, isoNow } from './context.js';
import { ID, text } from './schemas.js';
import { newId, newToken, permits, ROLE_SCOPES, USER_TOKEN_PREFIX } from './tokens.js';

const BASE = '/api/admin/v1';
const ROLE = { enum: ['viewer', 'operator', 'releaser', 'admin'] } as const;
const SCOPE = { enum: ['read', 'devices', 'releases', 'admin'] } as const;
const DAY = 86_400_000;

/** A token as listings show it: no secret, no digest. */
export function publicToken(token: ApiToken): Omit<ApiToken, 'sha256'> {
  const { sha256: _hidden, ...rest } = token;
  return rest;
}

async function requireUser(ctx: FleetContext, userId: string): Promise<FleetUser> {
  const user = await ctx.store.getUser(userId);
  if (user === undefined) throw new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no user ${userId}`);
  return user;
}

function isAdmin(principal: UserPrincipal): boolean {
  return permits(principal.user.role, principal.token.scopes, 'admin');
}

/** The token `tokenId` if `principal` may manage it (admin, or its owner). */
async function manageableToken(
  ctx: FleetContext,
  principal: UserPrincipal,
  tokenId: string,
): Promise<ApiToken> {
  const admin = isAdmin(principal);
  const tokens = await ctx.store.listTokens(admin ? {} : { userId: principal.user.userId });
  const token = tokens.find((t) => t.tokenId === tokenId);
  if (token === undefined) {
    throw new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no token ${tokenId} you may manage`);
  }
  return token;
}

/** Register the people endpoints of the admin API on `app`. */
export function adminPeopleRoutes(app: FastifyInstance, ctx: FleetContext): void {
  app.get(`${BASE}/users`, async (request) => {
    await authenticateUser(ctx, request, 'admin');
    return { items: await ctx.store.listUsers() };
  });

  app.post<{ Body: { userId: string; name: string; role: UserRole } }>(
    `${BASE}/users`,
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['userId', 'name', 'role'],
          properties: { userId: ID, name: { ...text(128), minLength: 1 }, role: ROLE },
        },
      },
    },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'admin');
      const user: FleetUser = { ...request.body, createdAt: isoNow(ctx) };
      await ctx.store.createUser(
        user,
        auditOf(ctx, request, principal, 'user.create', `user:${user.userId}`, { after: user }),
      );
      return reply.code(201).send(user);
    },
  );

  app.patch<{
    Params: { id: string };
    Body: { name?: string; role?: UserRole; disabled?: boolean };
  }>(
    `${BASE}/users/:id`,
    {
      schema: {
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: ID },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: { ...text(128), minLength: 1 },
            role: ROLE,
            disabled: { type: 'boolean' },
          },
        },
      },
    },
    async (request) => {
      const principal = await authenticateUser(ctx, request, 'admin');
      const user = await requireUser(ctx, request.params.id);
      const { name, role, disabled } = request.body;
      if (
        user.userId === principal.user.userId &&
        (disabled === true || (role ?? 'admin') !== 'admin')
      ) {
        throw new FleetError(
          'ERR_TUF_FLEET_CONFLICT',
          'an admin may not disable or demote themselves (another admin can)',
        );
      }
      const patch: Partial<Pick<FleetUser, 'name' | 'role' | 'disabledAt'>> = {
        ...(name !== undefined ? { name } : {}),
        ...(role !== undefined ? { role } : {}),
      };
      if (disabled === true && user.disabledAt === undefined) patch.disabledAt = isoNow(ctx);
      if (disabled === false && user.disabledAt !== undefined) {
        // The store replaces given fields; undefined clears the disabled mark.
        (patch as Record<string, unknown>).disabledAt = undefined;
      }
      const before: Record<string, unknown> = {};
      for (const key of Object.keys(patch)) before[key] = user[key as keyof FleetUser] ?? null;
      return ctx.store.updateUser(
        user.userId,
        patch,
        auditOf(ctx, request, principal, 'user.update', `user:${user.userId}`, {
          before,
          after: patch,
        }),
      );
    },
  );

  app.post<{
    Body: { userId?: string; scopes: TokenScope[]; expiresInDays: number; description: string };
  }>(
    `${BASE}/tokens`,
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['scopes', 'expiresInDays', 'description'],
          properties: {
            userId: ID,
            scopes: { type: 'array', minItems: 1, maxItems: 4, uniqueItems: true, items: SCOPE },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 365 },
            description: { ...text(256), minLength: 1 },
          },
        },
      },
    },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'read');
      const { scopes, expiresInDays, description } = request.body;
      const userId = request.body.userId ?? principal.user.userId;
      if (userId !== principal.user.userId && !isAdmin(principal)) {
        throw new FleetError(
          'ERR_TUF_FLEET_FORBIDDEN',
          'only an admin may create tokens for another user',
        );
      }
      const owner =
        userId === principal.user.userId ? principal.user : await requireUser(ctx, userId);
      if (owner.disabledAt !== undefined) {
        throw new FleetError('ERR_TUF_FLEET_CONFLICT', `user ${userId} is disabled`);
      }
      for (const scope of scopes) {
        if (!ROLE_SCOPES[owner.role].includes(scope)) {
          throw new FleetError(
            'ERR_TUF_FLEET_FORBIDDEN',
            `scope ${scope} is beyond the ${owner.role} role of user ${userId}`,
          );
        }
        // A token cannot mint a wider token than itself.
        if (!permits(principal.user.role, principal.token.scopes, scope)) {
          throw new FleetError(
            'ERR_TUF_FLEET_FORBIDDEN',
            `the token you use lacks the ${scope} scope, so it cannot grant it`,
          );
        }
      }
      const now = ctx.now();
      const { secret, sha256 } = newToken(USER_TOKEN_PREFIX);
      const token: ApiToken = {
        tokenId: newId(),
        userId,
        sha256,
        scopes,
        description,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + expiresInDays * DAY).toISOString(),
      };
      await ctx.store.createToken(
        token,
        auditOf(ctx, request, principal, 'token.create', `token:${token.tokenId}`, {
          after: publicToken(token),
        }),
      );
      return reply.code(201).send({ ...publicToken(token), token: secret });
    },
  );

  app.get<{ Querystring: { userId?: string } }>(
    `${BASE}/tokens`,
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { userId: ID },
        },
      },
    },
    async (request) => {
      const principal = await authenticateUser(ctx, request, 'read');
      const admin = isAdmin(principal);
      const userId = request.query.userId ?? (admin ? undefined : principal.user.userId);
      if (userId !== principal.user.userId && !admin) {
        throw new FleetError('ERR_TUF_FLEET_FORBIDDEN', "only an admin may list others' tokens");
      }
      const tokens = await ctx.store.listTokens(userId === undefined ? {} : { userId });
      return { items: tokens.filter((t) => t.userId !== undefined).map(publicToken) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${BASE}/tokens/:id`,
    {
      schema: {
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
      },
    },
    async (request) => {
      const principal = await authenticateUser(ctx, request, 'read');
      const token = await manageableToken(ctx, principal, request.params.id);
      if (token.revokedAt !== undefined) {
        throw new FleetError('ERR_TUF_FLEET_CONFLICT', `token ${token.tokenId} is already revoked`);
      }
      const at = isoNow(ctx);
      const revoked = await ctx.store.revokeToken(
        token.tokenId,
        at,
        auditOf(ctx, request, principal, 'token.revoke', `token:${token.tokenId}`, {
          before: publicToken(token),
          after: { revokedAt: at },
        }),
      );
      return publicToken(revoked);
    },
  );

  app.get<{ Querystring: { afterSeq?: string; limit?: string } }>(
    `${BASE}/audit`,
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            afterSeq: { type: 'string', pattern: '^[0-9]{1,15}$' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
          },
        },
      },
    },
    async (request) => {
      await authenticateUser(ctx, request, 'admin');
      const { afterSeq, limit } = request.query;
      return {
        items: await ctx.store.listAudit({
          ...(afterSeq !== undefined ? { afterSeq: Number(afterSeq) } : {}),
          ...(limit !== undefined ? { limit: Math.min(Number(limit), 1000) } : {}),
        }),
      };
    },
  );
}
