/**
 * The rollout admin API on the real fleet server (SQLite): groups and deployments with RBAC,
 * schema checks and audit, and device phase reports reaching the deployment through the device
 * API's events endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceToken, type Fleet, IMAGE_V2, makeFleet, simDevice } from './helpers.js';

let fleet: Fleet;
const tokens: Record<string, string> = {};
const IDS = ['gw-1', 'gw-2', 'gw-3'];

beforeAll(async () => {
  fleet = await makeFleet({ modes: ['device-key'] });
  // The test steps by hand: no timer in the background.
  await fleet.server.context.rollouts?.service.stop();
  for (const id of IDS) {
    const device = await simDevice(id);
    await fleet.call('POST', '/api/admin/v1/devices', {
      token: fleet.tokens.operator,
      body: { deviceId: id, publicKey: device.key.publicKey, model: 'gw-200' },
    });
    tokens[id] = await deviceToken(fleet, device);
    const res = await fleet.call('POST', '/api/device/v1/register', {
      token: tokens[id],
      body: device.registerBody(),
    });
    expect(res.status, res.text).toBe(200);
  }
});
afterAll(async () => {
  await fleet?.close();
});

const policy = {
  phases: [{ devices: 1 }, { percent: 100 }],
  soakSeconds: 0,
  maxFailureRate: 0.2,
  maxConcurrent: 10,
  updateControl: 'forced',
};

describe('rollout admin API', () => {
  it('groups: operator writes, viewer reads, bad bodies refused, members evaluated now', async () => {
    const viewer = await fleet.call('POST', '/api/admin/v1/groups', {
      token: fleet.tokens.viewer,
      body: { name: 'oslo', kind: 'dynamic', expression: 'site=oslo' },
    });
    expect(viewer.status).toBe(403);
    const bad = await fleet.call('POST', '/api/admin/v1/groups', {
      token: fleet.tokens.operator,
      body: { name: 'oslo', kind: 'dynamic', expression: 'site=oslo', extra: 1 },
    });
    expect(bad.status).toBe(400);
    const badExpr = await fleet.call('POST', '/api/admin/v1/groups', {
      token: fleet.tokens.operator,
      body: { name: 'oslo', kind: 'dynamic', expression: 'site=' },
    });
    expect(badExpr.status).toBe(400);
    const made = await fleet.call('POST', '/api/admin/v1/groups', {
      token: fleet.tokens.operator,
      body: { name: 'oslo', kind: 'dynamic', expression: 'site=oslo' },
    });
    expect(made.status, made.text).toBe(201);
    const got = await fleet.call('GET', '/api/admin/v1/groups/oslo', {
      token: fleet.tokens.viewer,
    });
    expect(got.json.members).toEqual(IDS);
    const list = await fleet.call('GET', '/api/admin/v1/groups', { token: fleet.tokens.viewer });
    expect(list.json).toEqual([expect.objectContaining({ name: 'oslo', members: 3 })]);
  });

  it('deployments: the releaser creates one, the canary is assigned, reports move it, a running deployment keeps its group', async () => {
    const operator = await fleet.call('POST', '/api/admin/v1/deployments', {
      token: fleet.tokens.operator,
      body: { release: IMAGE_V2.path, group: 'oslo', policy },
    });
    expect(operator.status).toBe(403);
    const badPolicy = await fleet.call('POST', '/api/admin/v1/deployments', {
      token: fleet.tokens.releaser,
      body: { release: IMAGE_V2.path, group: 'oslo', policy: { ...policy, maxConcurrent: 0 } },
    });
    expect(badPolicy.status).toBe(400);
    const res = await fleet.call('POST', '/api/admin/v1/deployments', {
      token: fleet.tokens.releaser,
      body: { release: IMAGE_V2.path, group: 'oslo', policy },
    });
    expect(res.status, res.text).toBe(201);
    const id = res.json.id as string;
    const [canary] = Object.keys(res.json.devices) as [string];
    expect(res.json.devices[canary].assignedAt).toBeDefined();
    expect((await fleet.server.context.director.device(canary))?.assignment?.correlationId).toBe(
      id,
    );

    const del = await fleet.call('DELETE', '/api/admin/v1/groups/oslo', {
      token: fleet.tokens.operator,
    });
    expect(del.status).toBe(409);

    const ev = await fleet.call('POST', '/api/device/v1/events', {
      token: tokens[canary],
      body: {
        phase: 'rolledBack',
        correlationId: id,
        error: { code: 'HEALTH', message: 'health check failed' },
      },
    });
    expect(ev.status, ev.text).toBe(204);
    const detail = await fleet.call('GET', `/api/admin/v1/deployments/${id}`, {
      token: fleet.tokens.viewer,
    });
    expect(detail.json.deployment.status).toBe('paused');
    expect(detail.json.failures).toEqual([
      {
        deviceId: canary,
        state: 'rolledBack',
        reason: 'health check failed',
        logs: `/api/admin/v1/devices/${canary}/logs?correlationId=${id}`,
      },
    ]);
    expect(detail.json.summary.rolledBack).toBe(1);

    const list = await fleet.call('GET', '/api/admin/v1/deployments', {
      token: fleet.tokens.viewer,
    });
    expect(list.json).toEqual([expect.objectContaining({ id, status: 'paused', group: 'oslo' })]);

    const resumeAsViewer = await fleet.call('POST', `/api/admin/v1/deployments/${id}/resume`, {
      token: fleet.tokens.viewer,
    });
    expect(resumeAsViewer.status).toBe(403);
    const pausedAgain = await fleet.call('POST', `/api/admin/v1/deployments/${id}/pause`, {
      token: fleet.tokens.releaser,
      body: { reason: 'x' },
    });
    expect(pausedAgain.status).toBe(409);
    const abort = await fleet.call('POST', `/api/admin/v1/deployments/${id}/abort`, {
      token: fleet.tokens.releaser,
      body: { reason: 'bad build' },
    });
    expect(abort.status, abort.text).toBe(200);
    expect(abort.json.deployment.status).toBe('aborted');
    const del2 = await fleet.call('DELETE', '/api/admin/v1/groups/oslo', {
      token: fleet.tokens.operator,
    });
    expect(del2.status).toBe(204);

    const overview = await fleet.call('GET', '/api/admin/v1/overview', {
      token: fleet.tokens.viewer,
    });
    expect(overview.json.devices).toEqual({ accepted: 3 });
    expect(overview.json.deployments).toEqual({ aborted: 1 });

    const audit = await fleet.call('GET', '/api/admin/v1/audit?limit=1000', {
      token: fleet.tokens.admin,
    });
    const actions = (audit.json.items ?? audit.json).map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'group.create',
        'deployment.create',
        'deployment.step',
        'deployment.report',
        'deployment.abort',
        'group.delete',
      ]),
    );
  });

  it('log-in: an admin sets a password, the user logs in and gets a token of its role; wrong passwords get 401', async () => {
    const other = await fleet.call('POST', '/api/admin/v1/users/releaser-1/password', {
      token: fleet.tokens.viewer,
      body: { password: 'correct horse battery' },
    });
    expect(other.status).toBe(403);
    const short = await fleet.call('POST', '/api/admin/v1/users/releaser-1/password', {
      token: fleet.tokens.admin,
      body: { password: 'short' },
    });
    expect(short.status).toBe(400);
    const set = await fleet.call('POST', '/api/admin/v1/users/releaser-1/password', {
      token: fleet.tokens.admin,
      body: { password: 'correct horse battery' },
    });
    expect(set.status, set.text).toBe(204);
    for (const body of [
      { userId: 'releaser-1', password: 'correct horse batterY' },
      { userId: 'nobody', password: 'correct horse battery' },
    ]) {
      const res = await fleet.call('POST', '/api/admin/v1/session', { body });
      expect(res.status).toBe(401);
      expect(res.json.error.message).toBe('wrong user id or password');
    }
    const ok = await fleet.call('POST', '/api/admin/v1/session', {
      body: { userId: 'releaser-1', password: 'correct horse battery' },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.user.role).toBe('releaser');
    const use = await fleet.call('GET', '/api/admin/v1/deployments', { token: ok.json.token });
    expect(use.status).toBe(200);
    const forbidden = await fleet.call('POST', '/api/admin/v1/groups', {
      token: ok.json.token,
      body: { name: 'x', kind: 'static', devices: [] },
    });
    expect(forbidden.status).toBe(403);
    const audit = await fleet.call('GET', '/api/admin/v1/audit?limit=1000', {
      token: fleet.tokens.admin,
    });
    expect(audit.text).not.toContain('correct horse');
  });
});
