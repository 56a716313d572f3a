/**
 * The device API (`/api/device/v1/…`) and the director's per-device metadata (`/director/…`):
 *
 * - `register` (`device-register.ts`), `challenge` and `token`: proof of possession of the
 *   device key by signing `tufota-device-auth-v1\n<challengeId>\n<deviceId>\n<nonce>`; a
 *   challenge is single use (the store consumes it atomically) and short-lived;
 * - `manifest`: raw bytes (`application/octet-stream` or the JSON envelope itself, ≤ 1 MiB) to
 *   `Director.receiveManifest`, recorded as a `manifest` or `manifest-refused` event;
 * - `events` (the agent's phase reports) and `logs` (log tails per correlation id);
 * - `GET /director/<deviceId>/<file>`: only for that device.
 *
 * A device only ever acts as itself: the device id comes from its credentials; a manifest or a
 * path naming another device is refused with 403 before anything is written.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { defaultCryptoProvider, tryHexToBytes } from '../../crypto/index.js';
import { FleetError, FormatError, UptaneError } from '../../errors.js';
import { MAX_MANIFEST_LENGTH, parseEnvelope } from '../../uptane/verify/manifest.js';
import { authenticateDevice, requireAccepted, requireSameDevice } from './auth.js';
import { type FleetContext, isoNow } from './context.js';
import { REGISTER_SCHEMA, type RegisterBody, registerDevice } from './device-register.js';
import { CORRELATION_ID, ID, text } from './schemas.js';
import { DEVICE_TOKEN_PREFIX, newId, newNonce, newToken } from './tokens.js';

/** The bytes a device signs to answer a challenge. */
export function challengeMessage(challengeId: string, deviceId: string, nonce: string): Uint8Array {
  return new TextEncoder().encode(`tufota-device-auth-v1\n${challengeId}\n${deviceId}\n${nonce}`);
}

/** Largest phase report. */
export const MAX_EVENT_BODY = 64 * 1024;
/** Largest log upload. */
export const MAX_LOG_BODY = 1024 * 1024;

const EVENT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['phase'],
  properties: {
    phase: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z-]+$' },
    updateId: CORRELATION_ID,
    correlationId: CORRELATION_ID,
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'length', 'hashes'],
      properties: {
        path: text(1024),
        length: { type: 'integer', minimum: 0 },
        hashes: {
          type: 'object',
          maxProperties: 4,
          additionalProperties: { type: 'string', maxLength: 128 },
        },
        version: text(64),
        releaseCounter: { type: 'integer', minimum: 0 },
      },
    },
    installedVersion: text(64),
    slot: text(16),
    result: { enum: ['success', 'failure', 'pending', 'warning'] },
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: { code: text(64), message: text(4096) },
    },
    logTail: { type: 'array', maxItems: 200, items: text(4096) },
    at: text(40),
  },
} as const;

const LOG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['correlationId', 'lines'],
  properties: {
    correlationId: CORRELATION_ID,
    lines: { type: 'array', minItems: 1, maxItems: 1000, items: text(4096) },
  },
} as const;

/** Register the device routes on `app`. */
export function deviceRoutes(app: FastifyInstance, ctx: FleetContext): void {
  app.post<{ Body: RegisterBody }>(
    '/api/device/v1/register',
    { schema: { body: REGISTER_SCHEMA } },
    async (request, reply) => {
      const answer = await registerDevice(ctx, request, request.body);
      return reply.code(answer.status).send(answer.body);
    },
  );

  app.post<{ Body: { deviceId: string } }>(
    '/api/device/v1/challenge',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId'],
          properties: { deviceId: ID },
        },
      },
    },
    async (request) => {
      const { deviceId } = request.body;
      const device = await ctx.store.getDevice(deviceId);
      if (device === undefined || device.publicKey === undefined) {
        throw new FleetError(
          'ERR_TUF_FLEET_UNAUTHENTICATED',
          `device ${deviceId} has no registered key: register it first (or have an operator pre-authorize it)`,
        );
      }
      if (device.status === 'rejected' || device.status === 'decommissioned')
        requireAccepted(device);
      const now = ctx.now();
      const challenge = {
        challengeId: newId(),
        deviceId,
        nonce: newNonce(),
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ctx.config.challengeTtlMs).toISOString(),
      };
      await ctx.store.createChallenge(challenge);
      return {
        challengeId: challenge.challengeId,
        nonce: challenge.nonce,
        expiresAt: challenge.expiresAt,
      };
    },
  );

  app.post<{ Body: { challengeId: string; signature: string } }>(
    '/api/device/v1/token',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['challengeId', 'signature'],
          properties: {
            challengeId: { type: 'string', minLength: 1, maxLength: 64 },
            signature: { type: 'string', minLength: 2, maxLength: 1024, pattern: '^[0-9a-fA-F]+$' },
          },
        },
      },
    },
    async (request) => {
      const now = ctx.now();
      const challenge = await ctx.store.consumeChallenge(
        request.body.challengeId,
        now.toISOString(),
      );
      if (challenge === undefined) {
        throw new FleetError(
          'ERR_TUF_FLEET_UNAUTHENTICATED',
          'unknown, expired or already answered challenge: ask for a new one',
        );
      }
      const device = await ctx.store.getDevice(challenge.deviceId);
      const signature = tryHexToBytes(request.body.signature, 512);
      const message = challengeMessage(challenge.challengeId, challenge.deviceId, challenge.nonce);
      if (
        device?.publicKey === undefined ||
        signature === undefined ||
        !defaultCryptoProvider.verify(device.publicKey, signature, message)
      ) {
        throw new FleetError(
          'ERR_TUF_FLEET_UNAUTHENTICATED',
          `the signature does not verify with device ${challenge.deviceId}'s key`,
        );
      }
      requireAccepted(device);
      const { secret, sha256 } = newToken(DEVICE_TOKEN_PREFIX);
      const expiresAt = new Date(now.getTime() + ctx.config.deviceTokenTtlMs).toISOString();
      await ctx.store.createToken({
        tokenId: newId(),
        deviceId: device.deviceId,
        sha256,
        scopes: [],
        description: 'device token',
        createdAt: now.toISOString(),
        expiresAt,
      });
      return { token: secret, expiresAt };
    },
  );

  // The manifest's exact bytes are what the director verifies: no JSON parsing on the way in.
  app.register(async (scope) => {
    scope.addContentTypeParser(
      ['application/octet-stream', 'application/json'],
      { parseAs: 'buffer', bodyLimit: MAX_MANIFEST_LENGTH },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Body: Buffer }>(
      '/api/device/v1/manifest',
      { bodyLimit: MAX_MANIFEST_LENGTH },
      async (request, reply) => {
        const device = await authenticateDevice(ctx, request);
        const bytes = new Uint8Array(request.body);
        let claimed: unknown;
        try {
          claimed = parseEnvelope(bytes).signed.device_id;
        } catch (error) {
          throw new FleetError(
            'ERR_TUF_FLEET_BAD_REQUEST',
            `not a signed vehicle version manifest: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (typeof claimed === 'string') requireSameDevice(device, claimed);
        const at = isoNow(ctx);
        const correlationId = (await ctx.director.device(device.deviceId))?.assignment
          ?.correlationId;
        const withCorrelation = correlationId ? { correlationId } : {};
        try {
          const result = await ctx.director.receiveManifest(device.deviceId, bytes);
          await ctx.store.appendEvent({
            deviceId: device.deviceId,
            kind: 'manifest',
            at,
            ...withCorrelation,
            data: {
              installed: result.installed,
              attacksDetected: result.attacksDetected,
              ...(result.installationReport !== undefined
                ? { installationReport: result.installationReport }
                : {}),
            },
          });
        } catch (error) {
          if (error instanceof UptaneError || error instanceof FormatError) {
            await ctx.store.appendEvent({
              deviceId: device.deviceId,
              kind: 'manifest-refused',
              at,
              ...withCorrelation,
              data: {
                code: error.code,
                message: error.message.slice(0, 4096),
                ...(error instanceof UptaneError ? { attack: error.attack } : {}),
              },
            });
          }
          throw error;
        }
        return reply.code(204).send();
      },
    );
  });

  app.post<{ Body: Record<string, unknown> & { updateId?: string; correlationId?: string } }>(
    '/api/device/v1/events',
    { bodyLimit: MAX_EVENT_BODY, schema: { body: EVENT_SCHEMA } },
    async (request, reply) => {
      const device = await authenticateDevice(ctx, request);
      const correlationId = request.body.correlationId ?? request.body.updateId;
      await ctx.store.appendEvent({
        deviceId: device.deviceId,
        kind: 'phase',
        at: isoNow(ctx),
        ...(correlationId !== undefined ? { correlationId } : {}),
        data: request.body,
      });
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { correlationId: string; lines: string[] } }>(
    '/api/device/v1/logs',
    { bodyLimit: MAX_LOG_BODY, schema: { body: LOG_SCHEMA } },
    async (request, reply) => {
      const device = await authenticateDevice(ctx, request);
      await ctx.store.appendLog({
        deviceId: device.deviceId,
        correlationId: request.body.correlationId,
        at: isoNow(ctx),
        lines: request.body.lines,
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { deviceId: string; file: string } }>(
    '/director/:deviceId/:file',
    {
      schema: {
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId', 'file'],
          properties: {
            deviceId: ID,
            file: {
              type: 'string',
              pattern: '^([1-9][0-9]{0,8}\\.root|timestamp|snapshot|targets)\\.json$',
            },
          },
        },
      },
    },
    async (request, reply) => {
      const device = await authenticateDevice(ctx, request);
      requireSameDevice(device, request.params.deviceId);
      const bytes = await ctx.director.metadata(device.deviceId, request.params.file);
      if (bytes === undefined) {
        throw new FleetError(
          'ERR_TUF_FLEET_NOT_FOUND',
          `no director metadata ${request.params.file} for device ${device.deviceId}`,
        );
      }
      return reply
        .header('content-type', 'application/json')
        .header('cache-control', 'no-cache')
        .send(Buffer.from(bytes));
    },
  );
}
