/**
 * The admin API's device endpoints (`/api/admin/v1/devices…`): inventory listing with filters,
 * sorting and cursor pagination; CSV/JSON export; detail; pre-authorization; accept, reject,
 * decommission; attribute edits; update history and deployment logs; and assignment of images
 * (looked up in the image repository's trusted metadata, `image-lookup.ts`) through the director.
 *
 * Roles (docs/fleet-server-api.md): reads need `read` (viewer), device changes `devices`
 * (operator), assignments `releases` (releaser). Every write hands the store an audit entry
 * (actor, action, subject, client address, before/after) committed in the same transaction —
 * except assignments, which the director writes through its inventory: their audit entry is
 * appended right after the director's write succeeds.
 *
 * @module
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PublicKeyData } from '../../crypto/index.js';
import { FleetError } from '../../errors.js';
import { Key } from '../../models/index.js';
import type { AssignImage } from '../../uptane/director/director.js';
import type {
  AuditInput,
  DeviceStatus,
  FleetDevice,
  FleetDeviceDetail,
} from '../store/fleet-store.js';
import { authenticateUser, type UserPrincipal } from './auth.js';
import { type FleetContext, isoNow } from './context.js';
import { exportChunks } from './device-export.js';
import {
  DEVICE_EXPORT_QUERY,
  DEVICE_LIST_QUERY,
  type DeviceQueryString,
  toDeviceQuery,
} from './device-query.js';
import { groupsOf } from './rollout-service.js';
import {
  ATTRIBUTES,
  CORRELATION_ID,
  DEVICE_PARAMS,
  ID,
  PUBLIC_KEY,
  TARGET_PATH,
  text,
} from './schemas.js';

const BASE = '/api/admin/v1/devices';

const HISTORY_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    correlationId: CORRELATION_ID,
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
    cursor: { type: 'string', minLength: 1, maxLength: 512 },
  },
} as const;

/** Allowed status changes: action → (statuses it applies to, the new status). */
const TRANSITIONS: Record<string, { from: DeviceStatus[]; to: DeviceStatus }> = {
  accept: { from: ['pending', 'rejected'], to: 'accepted' },
  reject: { from: ['pending', 'accepted'], to: 'rejected' },
  decommission: { from: ['pending', 'accepted', 'rejected'], to: 'decommissioned' },
};

/** An audit entry for `principal` acting on `subject` from the request's address. */
export function auditOf(
  ctx: FleetContext,
  request: FastifyRequest,
  principal: UserPrincipal,
  action: string,
  subject: string,
  change: { before?: unknown; after?: unknown } = {},
): AuditInput {
  return {
    actor: principal.actor,
    action,
    subject,
    from: request.ip,
    at: isoNow(ctx),
    ...change,
  };
}

async function requireDevice(ctx: FleetContext, deviceId: string): Promise<FleetDeviceDetail> {
  const device = await ctx.store.getDevice(deviceId);
  if (device === undefined) {
    throw new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no device ${deviceId}`);
  }
  return device;
}

function pageOptions(q: { correlationId?: string; limit?: string; cursor?: string }) {
  return {
    ...(q.correlationId !== undefined ? { correlationId: q.correlationId } : {}),
    ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  };
}

/** Register the device endpoints of the admin API on `app`. */
export function adminDeviceRoutes(app: FastifyInstance, ctx: FleetContext): void {
  app.get<{ Querystring: DeviceQueryString }>(
    BASE,
    { schema: { querystring: DEVICE_LIST_QUERY } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      return ctx.store.listDevices(toDeviceQuery(request.query));
    },
  );

  app.get<{ Querystring: DeviceQueryString }>(
    `${BASE}/export`,
    { schema: { querystring: DEVICE_EXPORT_QUERY } },
    async (request, reply) => {
      await authenticateUser(ctx, request, 'read');
      const { format = 'json', ...filters } = request.query;
      const { limit: _limit, cursor: _cursor, ...query } = toDeviceQuery(filters);
      const chunks = exportChunks(ctx.store.exportDevices(query), format as 'csv' | 'json');
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json')
        .header('content-disposition', `attachment; filename="devices.${format}"`)
        .send(Readable.from(chunks));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/:id`,
    { schema: { params: DEVICE_PARAMS } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      const device = await requireDevice(ctx, request.params.id);
      if (ctx.rollouts === undefined) return device;
      return { ...device, groups: groupsOf(await ctx.rollouts.store.listGroups(), device) };
    },
  );

  app.post<{
    Body: {
      deviceId: string;
      publicKey: PublicKeyData;
      model?: string;
      hardwareRevision?: string;
      attributes?: Record<string, string>;
    };
  }>(
    BASE,
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId', 'publicKey'],
          properties: {
            deviceId: ID,
            publicKey: PUBLIC_KEY,
            model: text(128),
            hardwareRevision: text(64),
            attributes: ATTRIBUTES,
          },
        },
      },
    },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'devices');
      const body = request.body;
      try {
        Key.fromPublicKeyData(body.publicKey).keyId();
      } catch (error) {
        throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', `publicKey: ${(error as Error).message}`);
      }
      const device: FleetDevice = {
        deviceId: body.deviceId,
        status: 'accepted',
        provisioning: 'device-key',
        publicKey: body.publicKey,
        hardwareIds: [],
        addresses: [],
        attributes: body.attributes ?? {},
        createdAt: isoNow(ctx),
        ...(body.model !== undefined ? { model: body.model } : {}),
        ...(body.hardwareRevision !== undefined ? { hardwareRevision: body.hardwareRevision } : {}),
      };
      await ctx.store.createDevice(
        device,
        auditOf(ctx, request, principal, 'device.preauthorize', `device:${device.deviceId}`, {
          after: device,
        }),
      );
      return reply.code(201).send(device);
    },
  );

  for (const [action, rule] of Object.entries(TRANSITIONS)) {
    app.post<{ Params: { id: string } }>(
      `${BASE}/:id/${action}`,
      { schema: { params: DEVICE_PARAMS } },
      async (request) => {
        const principal = await authenticateUser(ctx, request, 'devices');
        const device = await requireDevice(ctx, request.params.id);
        if (!rule.from.includes(device.status)) {
          throw new FleetError(
            'ERR_TUF_FLEET_CONFLICT',
            `device ${device.deviceId} is ${device.status}; ${action} applies to ${rule.from.join(' or ')} devices`,
          );
        }
        const updated = await ctx.store.updateDevice(
          device.deviceId,
          { status: rule.to },
          auditOf(ctx, request, principal, `device.${action}`, `device:${device.deviceId}`, {
            before: { status: device.status },
            after: { status: rule.to },
          }),
        );
        await ctx.store.appendEvent({
          deviceId: device.deviceId,
          kind: 'status',
          at: isoNow(ctx),
          data: { from: device.status, to: rule.to, by: principal.actor },
        });
        return updated;
      },
    );
  }

  app.patch<{
    Params: { id: string };
    Body: { attributes?: Record<string, string>; model?: string; hardwareRevision?: string };
  }>(
    `${BASE}/:id`,
    {
      schema: {
        params: DEVICE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { attributes: ATTRIBUTES, model: text(128), hardwareRevision: text(64) },
        },
      },
    },
    async (request) => {
      const principal = await authenticateUser(ctx, request, 'devices');
      const device = await requireDevice(ctx, request.params.id);
      const before: Record<string, unknown> = {};
      for (const key of Object.keys(request.body)) {
        before[key] = device[key as keyof FleetDevice] ?? null;
      }
      return ctx.store.updateDevice(
        device.deviceId,
        request.body,
        auditOf(ctx, request, principal, 'device.update', `device:${device.deviceId}`, {
          before,
          after: request.body,
        }),
      );
    },
  );

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(
    `${BASE}/:id/events`,
    { schema: { params: DEVICE_PARAMS, querystring: HISTORY_QUERY } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      const device = await requireDevice(ctx, request.params.id);
      return ctx.store.listEvents(device.deviceId, pageOptions(request.query));
    },
  );

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(
    `${BASE}/:id/logs`,
    { schema: { params: DEVICE_PARAMS, querystring: HISTORY_QUERY } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      const device = await requireDevice(ctx, request.params.id);
      return ctx.store.listLogs(device.deviceId, pageOptions(request.query));
    },
  );

  app.post<{
    Params: { id: string };
    Body: { correlationId: string; images: { ecuSerial: string; targetPath: string }[] };
  }>(
    `${BASE}/:id/assign`,
    {
      schema: {
        params: DEVICE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['correlationId', 'images'],
          properties: {
            correlationId: CORRELATION_ID,
            images: {
              type: 'array',
              minItems: 1,
              maxItems: 64,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['ecuSerial', 'targetPath'],
                properties: { ecuSerial: ID, targetPath: TARGET_PATH },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const principal = await authenticateUser(ctx, request, 'releases');
      const device = await requireDevice(ctx, request.params.id);
      if (device.status !== 'accepted') {
        throw new FleetError(
          'ERR_TUF_FLEET_CONFLICT',
          `device ${device.deviceId} is ${device.status}; only accepted devices get assignments`,
        );
      }
      const record = await ctx.director.device(device.deviceId);
      if (record === undefined) {
        throw new FleetError(
          'ERR_TUF_FLEET_CONFLICT',
          `device ${device.deviceId} has not registered its ECUs yet`,
        );
      }
      const { correlationId, images } = request.body;
      const assign: AssignImage[] = [];
      for (const image of images) {
        const ecu = record.ecus.find((e) => e.ecuSerial === image.ecuSerial);
        if (ecu === undefined) {
          throw new FleetError(
            'ERR_TUF_FLEET_BAD_REQUEST',
            `device ${device.deviceId} has no ECU ${image.ecuSerial}`,
          );
        }
        if (assign.some((a) => a.ecuSerial === image.ecuSerial)) {
          throw new FleetError(
            'ERR_TUF_FLEET_BAD_REQUEST',
            `ECU ${image.ecuSerial} is assigned twice`,
          );
        }
        assign.push({
          ecuSerial: image.ecuSerial,
          target: await ctx.images.find(image.targetPath, ecu.hardwareId),
        });
      }
      const before = record.assignment;
      await ctx.director.assign(device.deviceId, correlationId, assign);
      const after = {
        correlationId,
        images: assign.map((a) => ({
          ecuSerial: a.ecuSerial,
          targetPath: a.target.path,
          length: a.target.length,
          hashes: a.target.hashes,
        })),
      };
      await ctx.store.appendAudit(
        auditOf(ctx, request, principal, 'device.assign', `device:${device.deviceId}`, {
          ...(before !== undefined ? { before } : {}),
          after,
        }),
      );
      await ctx.store.appendEvent({
        deviceId: device.deviceId,
        kind: 'assignment',
        correlationId,
        at: isoNow(ctx),
        data: { ...after, by: principal.actor },
      });
      return after;
    },
  );
}
