/**
 * Admin API of the rollout engine (issue 15, docs/fleet-server-api.md "Groups, deployments,
 * releases"): groups (operator) and deployments (releaser), every body checked by JSON schema,
 * every write audited in the store's transaction; the fleet overview; the releases (the image
 * repository's targets, read through the server's trusted image lookup, with how many
 * devices run each).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { FleetError, InvalidStateError } from '../../errors.js';
import {
  abortDeployment,
  createDeployment,
  type Deployment,
  deploymentSummary,
  pauseDeployment,
  type RolloutPolicy,
  resumeDeployment,
  retryFailed,
} from '../../fleet/rollout.js';
import type { GroupInput, RolloutStore } from '../store/rollout-store.js';
import { auditOf } from './admin-device-routes.js';
import { authenticateUser } from './auth.js';
import { type FleetContext, isoNow } from './context.js';
import { groupMembers, type RolloutService } from './rollout-service.js';
import { TARGET_PATH } from './schemas.js';

const BASE = '/api/admin/v1';
const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } as const;
const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: NAME },
} as const;
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: NAME } } as const;
const GROUP_BODY = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'kind', 'devices'],
      properties: {
        name: NAME,
        kind: { const: 'static' },
        devices: {
          type: 'array',
          maxItems: 100000,
          items: { type: 'string', minLength: 1, maxLength: 256 },
        },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'kind', 'expression'],
      properties: {
        name: NAME,
        kind: { const: 'dynamic' },
        expression: { type: 'string', minLength: 1, maxLength: 1024 },
      },
    },
  ],
} as const;
const PHASE = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['devices'],
      properties: { devices: { type: 'integer', minimum: 1 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['percent'],
      properties: { percent: { type: 'number', exclusiveMinimum: 0, maximum: 100 } },
    },
  ],
} as const;
const POLICY = {
  type: 'object',
  additionalProperties: false,
  required: ['phases', 'soakSeconds', 'maxFailureRate', 'maxConcurrent', 'updateControl'],
  properties: {
    phases: { type: 'array', minItems: 1, maxItems: 20, items: PHASE },
    soakSeconds: { type: 'number', minimum: 0, maximum: 31536000 },
    maxFailureRate: { type: 'number', minimum: 0, maximum: 1 },
    maxConcurrent: { type: 'integer', minimum: 1, maximum: 100000 },
    updateControl: { enum: ['forced', 'consent'] },
    maintenanceWindows: {
      type: 'array',
      maxItems: 32,
      items: { type: 'object' },
    },
  },
} as const;
const REASON_BODY = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 512 } },
} as const;

function stateError(error: unknown): never {
  if (error instanceof InvalidStateError) {
    throw new FleetError('ERR_TUF_FLEET_CONFLICT', error.message, { cause: error });
  }
  throw error;
}

/** A bare array, like the other rollout listings (`GET /groups`, `GET /deployments`). */
const RELEASES_RESPONSE = {
  type: 'array',
  items: {
    type: 'object',
    required: ['targetPath', 'hardwareIds', 'length', 'installedOn'],
    properties: {
      targetPath: { type: 'string' },
      version: { type: 'string' },
      hardwareIds: { type: 'array', items: { type: 'string' } },
      releaseCounter: { type: 'integer' },
      length: { type: 'integer' },
      installedOn: { type: 'integer' },
    },
  },
} as const;

/** Devices (any status) per installed target path; a device counts once per path. */
async function installedCounts(ctx: FleetContext): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let cursor: string | undefined;
  // Bounded: at most 1,000 pages of 1,000 devices.
  for (let page = 0; page < 1000; page += 1) {
    const result = await ctx.store.listDevices({
      limit: 1000,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const device of result.items) {
      const paths = new Set(device.ecus.flatMap((e) => e.installedTarget ?? []));
      for (const path of paths) counts.set(path, (counts.get(path) ?? 0) + 1);
    }
    if (result.nextCursor === undefined) break;
    cursor = result.nextCursor;
  }
  return counts;
}

/** The deployment's report: summary, failures with log links, incompatible devices. */
export function deploymentDetail(d: Deployment): Record<string, unknown> {
  const failures = Object.entries(d.devices)
    .filter(([, x]) => x.state === 'failed' || x.state === 'rolledBack')
    .map(([deviceId, x]) => ({
      deviceId,
      state: x.state,
      reason: x.reason ?? null,
      logs: `${BASE}/devices/${encodeURIComponent(deviceId)}/logs?correlationId=${encodeURIComponent(d.id)}`,
    }));
  return {
    deployment: d,
    summary: deploymentSummary(d),
    failures,
    incompatible: Object.entries(d.incompatible).map(([deviceId, reason]) => ({
      deviceId,
      reason,
    })),
  };
}

/** Register the group and deployment routes. */
export function rolloutRoutes(
  app: FastifyInstance,
  ctx: FleetContext,
  rollouts: RolloutStore,
  service: RolloutService,
): void {
  app.get(`${BASE}/groups`, async (request) => {
    await authenticateUser(ctx, request, 'read');
    const out = [];
    for (const group of await rollouts.listGroups()) {
      out.push({ ...group, members: (await groupMembers(ctx, group)).length });
    }
    return out;
  });

  app.get<{ Params: { name: string } }>(
    `${BASE}/groups/:name`,
    { schema: { params: NAME_PARAMS } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      const group = await rollouts.getGroup(request.params.name);
      if (group === undefined) {
        throw new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no group named ${request.params.name}`);
      }
      return { group, members: (await groupMembers(ctx, group)).map((d) => d.deviceId) };
    },
  );

  app.post<{ Body: GroupInput }>(
    `${BASE}/groups`,
    { schema: { body: GROUP_BODY } },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'devices');
      const group = await rollouts.createGroup(
        request.body,
        isoNow(ctx),
        auditOf(ctx, request, principal, 'group.create', `group:${request.body.name}`),
      );
      return reply.code(201).send(group);
    },
  );

  app.patch<{ Params: { name: string }; Body: GroupInput }>(
    `${BASE}/groups/:name`,
    { schema: { params: NAME_PARAMS, body: GROUP_BODY } },
    async (request) => {
      const principal = await authenticateUser(ctx, request, 'devices');
      if (request.body.name !== request.params.name) {
        throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', 'a group cannot be renamed');
      }
      return rollouts.updateGroup(
        request.body,
        isoNow(ctx),
        auditOf(ctx, request, principal, 'group.update', `group:${request.params.name}`),
      );
    },
  );

  app.delete<{ Params: { name: string } }>(
    `${BASE}/groups/:name`,
    { schema: { params: NAME_PARAMS } },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'devices');
      await rollouts.deleteGroup(
        request.params.name,
        auditOf(ctx, request, principal, 'group.delete', `group:${request.params.name}`),
      );
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { release: string; group: string; policy: RolloutPolicy } }>(
    `${BASE}/deployments`,
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['release', 'group', 'policy'],
          properties: { release: TARGET_PATH, group: NAME, policy: POLICY },
        },
      },
    },
    async (request, reply) => {
      const principal = await authenticateUser(ctx, request, 'releases');
      const { release, group, policy } = request.body;
      if ((await rollouts.getGroup(group)) === undefined) {
        throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', `no group named ${group}`);
      }
      const at = isoNow(ctx);
      const id = `dep-${at.slice(0, 10).replaceAll('-', '')}-${randomBytes(4).toString('hex')}`;
      const stored = await rollouts.createDeployment(
        createDeployment({ id, release, group, policy, at }),
        at,
        auditOf(ctx, request, principal, 'deployment.create', `deployment:${id}`),
      );
      await service.step(id);
      const now = await rollouts.getDeployment(id);
      return reply.code(201).send((now ?? stored).deployment);
    },
  );

  app.get(`${BASE}/overview`, async (request) => {
    await authenticateUser(ctx, request, 'read');
    const devices: Record<string, number> = {};
    const versions = new Map<string, number>();
    let cursor: string | undefined;
    // Bounded: at most 1,000 pages of 1,000 devices.
    for (let page = 0; page < 1000; page += 1) {
      const result = await ctx.store.listDevices({
        limit: 1000,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      for (const device of result.items) {
        devices[device.status] = (devices[device.status] ?? 0) + 1;
        const primary = device.ecus.find((e) => e.primary) ?? device.ecus[0];
        if (primary?.installedTarget !== undefined) {
          versions.set(primary.installedTarget, (versions.get(primary.installedTarget) ?? 0) + 1);
        }
      }
      if (result.nextCursor === undefined) break;
      cursor = result.nextCursor;
    }
    const deployments: Record<string, number> = {};
    for (const { deployment } of await rollouts.listDeployments()) {
      deployments[deployment.status] = (deployments[deployment.status] ?? 0) + 1;
    }
    return {
      devices,
      versions: [...versions].map(([targetPath, count]) => ({ targetPath, devices: count })),
      deployments,
    };
  });

  app.get(
    `${BASE}/releases`,
    { schema: { response: { 200: RELEASES_RESPONSE } } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      const targets = await ctx.images.list();
      const installed = await installedCounts(ctx);
      return targets.map((t) => ({
        targetPath: t.path,
        ...(t.releaseVersion !== undefined ? { version: t.releaseVersion } : {}),
        hardwareIds: t.hardwareIds ?? [],
        ...(t.releaseCounter !== undefined ? { releaseCounter: t.releaseCounter } : {}),
        length: t.length,
        installedOn: installed.get(t.path) ?? 0,
      }));
    },
  );

  app.get(`${BASE}/deployments`, async (request) => {
    await authenticateUser(ctx, request, 'read');
    return (await rollouts.listDeployments()).map(({ deployment: d }) => ({
      id: d.id,
      release: d.release,
      group: d.group,
      status: d.status,
      phase: d.phase,
      summary: deploymentSummary(d),
    }));
  });

  app.get<{ Params: { id: string } }>(
    `${BASE}/deployments/:id`,
    { schema: { params: ID_PARAMS } },
    async (request) => {
      await authenticateUser(ctx, request, 'read');
      const stored = await rollouts.getDeployment(request.params.id);
      if (stored === undefined) {
        throw new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no deployment ${request.params.id}`);
      }
      return deploymentDetail(stored.deployment);
    },
  );

  for (const action of ['pause', 'resume', 'abort', 'retry'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | null }>(
      `${BASE}/deployments/:id/${action}`,
      { schema: { params: ID_PARAMS, body: REASON_BODY } },
      async (request) => {
        const principal = await authenticateUser(ctx, request, 'releases');
        const id = request.params.id;
        const stored = await rollouts.getDeployment(id);
        if (stored === undefined) {
          throw new FleetError('ERR_TUF_FLEET_NOT_FOUND', `no deployment ${id}`);
        }
        const at = isoNow(ctx);
        const reason = request.body?.reason ?? `by ${principal.actor}`;
        let next: Deployment;
        try {
          if (action === 'pause') next = pauseDeployment(stored.deployment, at, reason);
          else if (action === 'resume') next = resumeDeployment(stored.deployment, at);
          else if (action === 'retry') next = retryFailed(stored.deployment, at);
          else next = abortDeployment(stored.deployment, at, reason).deployment;
        } catch (error) {
          stateError(error);
        }
        // A stale version (the engine stepped meanwhile) is a 409: the operator retries.
        await rollouts.saveDeployment(
          next,
          stored.version,
          at,
          auditOf(ctx, request, principal, `deployment.${action}`, `deployment:${id}`),
        );
        if (next.status === 'running') await service.step(id);
        // After the abort is saved: the unfinished devices' director assignments go.
        if (action === 'abort') await service.withdrawAssignments(next);
        return deploymentDetail((await rollouts.getDeployment(id))?.deployment ?? next);
      },
    );
  }
}
