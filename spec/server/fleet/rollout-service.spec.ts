/**
 * The rollout service against the real fleet server (SQLite, the real Director and image
 * repository): phases, compatibility, write-ahead assignments that survive a restart without
 * being repeated, device reports and the automatic pause.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeployment, stepDeployment } from '../../../src/fleet/rollout.js';
import { Metadata, type Targets } from '../../../src/models/index.js';
import { openConfiguredStore } from '../../../src/server/fleet/open-store.js';
import { DEFERRED_REASON, RolloutService } from '../../../src/server/fleet/rollout-service.js';
import { startFleetServer } from '../../../src/server/fleet/server.js';
import type { RolloutStore } from '../../../src/server/store/rollout-store.js';
import { SqlRolloutStore } from '../../../src/server/store/sql-rollout-store.js';
import { openSqliteDatabase } from '../../../src/server/store/sqlite-fleet-store.js';
import { deviceToken, type Fleet, IMAGE_V2, makeFleet, simDevice } from './helpers.js';

let fleet: Fleet;
const stores: RolloutStore[] = [];
const AT = '2026-12-04T18:00:00.000Z';
const audit = {
  actor: 'user:releaser-1',
  action: 'deployment.create',
  subject: 'deployment',
  at: AT,
};
const GATEWAYS = ['gw-1', 'gw-2', 'gw-3', 'gw-4', 'gw-5'];

function rollouts(): RolloutStore {
  if (fleet.config.database.driver !== 'sqlite') throw new Error('SQLite expected');
  const store = new SqlRolloutStore(openSqliteDatabase(fleet.config.database.path));
  stores.push(store);
  return store;
}

/** Device tokens of the registered devices (for device API calls). */
const deviceTokens = new Map<string, string>();

async function register(deviceId: string, hardwareId = 'gateway'): Promise<void> {
  const device = await simDevice(deviceId);
  const pre = await fleet.call('POST', '/api/admin/v1/devices', {
    token: fleet.tokens.operator,
    body: { deviceId, publicKey: device.key.publicKey, model: 'gw-200' },
  });
  expect(pre.status, pre.text).toBe(201);
  const token = await deviceToken(fleet, device);
  deviceTokens.set(deviceId, token);
  const body = device.registerBody();
  (body.ecus as { hardwareId: string }[])[0]!.hardwareId = hardwareId;
  const res = await fleet.call('POST', '/api/device/v1/register', { token, body });
  expect(res.status, res.text).toBe(200);
}

/** Assignment events the service wrote per device for `correlationId`. */
async function assignmentsOf(
  deviceId: string,
  correlationId: string,
  store = fleet.store,
): Promise<number> {
  const events = await store.listEvents(deviceId, { correlationId });
  return events.items.filter((e) => e.kind === 'assignment').length;
}

const policy = {
  phases: [{ devices: 1 }, { percent: 100 }],
  soakSeconds: 0,
  maxFailureRate: 0.2,
  maxConcurrent: 10,
  updateControl: 'forced' as const,
};

beforeEach(async () => {
  fleet = await makeFleet({ modes: ['device-key'] });
  // The test steps by hand: the server's own engine must not step in the background.
  await fleet.server.context.rollouts?.service.stop();
  for (const id of GATEWAYS) await register(id);
  await register('door-1', 'door');
  const store = rollouts();
  await store.createGroup({ name: 'all', kind: 'static', devices: [...GATEWAYS, 'door-1'] }, AT, {
    ...audit,
    action: 'group.create',
  });
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await fleet.close();
});

/** The top-level custom and target paths of a device's director targets. */
async function directorTargets(deviceId: string): Promise<{ custom: unknown; paths: string[] }> {
  const bytes = await fleet.server.context.director.metadata(deviceId, 'targets.json');
  const signed = Metadata.fromBytes(bytes as Uint8Array, 'targets').signed as Targets;
  return { custom: signed.unrecognized.custom, paths: Object.keys(signed.targets) };
}

describe('RolloutService', () => {
  it('a consent deployment signs updateControl into the director targets; a deferred device stays pending', async () => {
    const store = rollouts();
    const service = new RolloutService(fleet.server.context, store);
    await store.createDeployment(
      createDeployment({
        id: 'ask-1',
        release: IMAGE_V2.path,
        group: 'all',
        policy: { ...policy, phases: [{ percent: 100 }], updateControl: 'consent' },
        at: AT,
      }),
      AT,
      audit,
    );
    await service.tick();
    const [first, second] = Object.keys((await store.getDeployment('ask-1'))!.deployment.devices);
    expect(first).toBeDefined();
    // Read back through the fleet store's director inventory (the record as JSON, kept whole).
    expect((await fleet.server.context.director.device(first!))?.assignment?.updateControl).toBe(
      'consent',
    );
    expect(await directorTargets(first!)).toEqual({
      custom: { deviceId: first, correlationId: 'ask-1', updateControl: 'consent' },
      paths: [IMAGE_V2.path],
    });

    await service.report(first!, 'ask-1', 'deferred');
    // Through the device API, as the agent reports it.
    const posted = await fleet.call('POST', '/api/device/v1/events', {
      token: deviceTokens.get(second!) as string,
      body: { phase: 'deferred', result: 'pending', correlationId: 'ask-1' },
    });
    expect(posted.status, posted.text).toBe(204);
    await service.tick();
    let d = (await store.getDeployment('ask-1'))!.deployment;
    expect(d.status).toBe('running');
    expect(d.devices[first!]).toMatchObject({ state: 'pending', reason: DEFERRED_REASON });
    expect(d.devices[second!]).toMatchObject({ state: 'pending', reason: DEFERRED_REASON });
    // Once it goes ahead, the consent reason does not stick to the device.
    await service.report(first!, 'ask-1', 'writing');
    d = (await store.getDeployment('ask-1'))!.deployment;
    expect(d.devices[first!]?.state).toBe('downloading');
    expect(d.devices[first!]).not.toHaveProperty('reason');
    // A late deferred report never moves a device back.
    await service.report(first!, 'ask-1', 'deferred');
    expect((await store.getDeployment('ask-1'))!.deployment.devices[first!]?.state).toBe(
      'downloading',
    );

    // A forced deployment's targets keep the custom they always had.
    await store.createDeployment(
      createDeployment({ id: 'forced-1', release: IMAGE_V2.path, group: 'all', policy, at: AT }),
      AT,
      audit,
    );
    await service.step('forced-1');
    const [forced] = Object.keys((await store.getDeployment('forced-1'))!.deployment.devices);
    expect((await directorTargets(forced!)).custom).toEqual({
      deviceId: forced,
      correlationId: 'forced-1',
    });
  });

  it('abort withdraws the director assignments of unfinished devices only, and only its own', async () => {
    const store = rollouts();
    const service = new RolloutService(fleet.server.context, store);
    await store.createDeployment(
      createDeployment({
        id: 'stop-1',
        release: IMAGE_V2.path,
        group: 'all',
        policy: { ...policy, phases: [{ percent: 100 }], maxConcurrent: 4 },
        at: AT,
      }),
      AT,
      audit,
    );
    await service.tick();
    const devices = (await store.getDeployment('stop-1'))!.deployment.devices;
    const assigned = Object.keys(devices).filter((id) => devices[id]?.assignedAt !== undefined);
    const waiting = Object.keys(devices).filter((id) => devices[id]?.assignedAt === undefined);
    expect(assigned).toHaveLength(4);
    expect(waiting).toHaveLength(1);
    const [deferred, done, downloading, taken] = assigned as [string, string, string, string];
    await service.report(deferred, 'stop-1', 'deferred');
    await service.report(done, 'stop-1', 'committed');
    await service.report(downloading, 'stop-1', 'writing');
    // A later deployment's assignment reached `taken` meanwhile: the abort must not wipe it.
    const director = fleet.server.context.director;
    const reassign = async (id: string, correlationId: string) => {
      const ecu = (await director.device(id))?.ecus.find((e) => e.primary);
      const target = await fleet.server.context.images.find(IMAGE_V2.path, 'gateway');
      await director.assign(id, correlationId, [{ ecuSerial: ecu!.ecuSerial, target }]);
    };
    await reassign(taken, 'later-1');

    const abort = await fleet.call('POST', '/api/admin/v1/deployments/stop-1/abort', {
      token: fleet.tokens.releaser,
      body: { reason: 'bad release' },
    });
    expect(abort.status, abort.text).toBe(200);
    for (const id of [deferred, downloading]) {
      expect((await director.device(id))?.assignment).toBeUndefined();
      expect((await directorTargets(id)).paths).toEqual([]);
      const events = (await fleet.store.listEvents(id, { correlationId: 'stop-1' })).items;
      expect(events.some((e) => e.kind === 'assignment' && e.data.withdrawn === true)).toBe(true);
    }
    expect((await director.device(done))?.assignment?.correlationId).toBe('stop-1');
    expect((await director.device(taken))?.assignment?.correlationId).toBe('later-1');
    expect((await director.device(waiting[0]!))?.assignment).toBeUndefined();

    // After a crash between saving the abort and withdrawing: the next start withdraws it.
    await reassign(deferred, 'stop-1');
    await new RolloutService(fleet.server.context, rollouts()).ensureAssignments();
    expect((await director.device(deferred))?.assignment).toBeUndefined();
    expect((await director.device(done))?.assignment?.correlationId).toBe('stop-1');
    expect((await director.device(taken))?.assignment?.correlationId).toBe('later-1');
  });

  it('assigns the canary first, lists the incompatible device, and the rest after the canary succeeds', async () => {
    const store = rollouts();
    const service = new RolloutService(fleet.server.context, store);
    await store.createDeployment(
      createDeployment({ id: 'dep-1', release: IMAGE_V2.path, group: 'all', policy, at: AT }),
      AT,
      audit,
    );
    await service.tick();
    let d = (await store.getDeployment('dep-1'))!.deployment;
    expect(Object.keys(d.devices)).toHaveLength(1);
    expect(Object.keys(d.incompatible)).toEqual(['door-1']);
    expect(d.incompatible['door-1']).toContain('door');
    const [canary] = Object.keys(d.devices) as [string];
    const record = await fleet.server.context.director.device(canary);
    expect(record?.assignment?.correlationId).toBe('dep-1');
    expect(record?.assignment?.images[0]?.filepath).toBe(IMAGE_V2.path);
    expect(record?.assignment?.images[0]?.length).toBe(IMAGE_V2.bytes.length);

    await service.report(canary, 'dep-1', 'writing');
    expect((await store.getDeployment('dep-1'))!.deployment.devices[canary]?.state).toBe(
      'downloading',
    );
    await service.report(canary, 'dep-1', 'committed');
    await service.tick();
    d = (await store.getDeployment('dep-1'))!.deployment;
    expect(Object.keys(d.devices).sort()).toEqual(GATEWAYS);
    for (const id of GATEWAYS) {
      expect((await fleet.server.context.director.device(id))?.assignment?.correlationId).toBe(
        'dep-1',
      );
      expect(await assignmentsOf(id, 'dep-1')).toBe(1);
    }
    for (const id of GATEWAYS.filter((x) => x !== canary))
      await service.report(id, 'dep-1', 'committed');
    await service.tick();
    expect((await store.getDeployment('dep-1'))!.deployment.status).toBe('completed');
  });

  it('pauses itself when the canary rolls back, with the device and its reason listed', async () => {
    const store = rollouts();
    const service = new RolloutService(fleet.server.context, store);
    await store.createDeployment(
      createDeployment({ id: 'bad-1', release: IMAGE_V2.path, group: 'all', policy, at: AT }),
      AT,
      audit,
    );
    await service.tick();
    const [canary] = Object.keys((await store.getDeployment('bad-1'))!.deployment.devices) as [
      string,
    ];
    await service.report(canary, 'bad-1', 'rolledBack', 'health check failed');
    const d = (await store.getDeployment('bad-1'))!.deployment;
    expect(d.status).toBe('paused');
    expect(d.devices[canary]).toMatchObject({ state: 'rolledBack', reason: 'health check failed' });
    await service.tick();
    expect(Object.keys((await store.getDeployment('bad-1'))!.deployment.devices)).toEqual([canary]);
    // The rolled-back device's order is withdrawn (re-signed targets without it), so it does not
    // install the release again; the withdrawal is in its history.
    const director = fleet.server.context.director;
    expect((await director.device(canary))?.assignment).toBeUndefined();
    const targets = JSON.parse(
      new TextDecoder().decode((await director.metadata(canary, 'targets.json')) as Uint8Array),
    );
    expect(targets.signed.targets).toEqual({});
    const events = await fleet.store.listEvents(canary, { correlationId: 'bad-1', limit: 100 });
    expect(events.items).toContainEqual(
      expect.objectContaining({
        kind: 'assignment',
        data: expect.objectContaining({
          withdrawn: true,
          reason: 'the device reported rolledBack',
        }),
      }),
    );
  });

  it('after a crash between saving a step and assigning, a new process issues each assignment once', async () => {
    const first = rollouts();
    await first.createDeployment(
      createDeployment({
        id: 'dep-2',
        release: IMAGE_V2.path,
        group: 'all',
        policy: { ...policy, phases: [{ percent: 100 }] },
        at: AT,
      }),
      AT,
      audit,
    );
    // The first process saved the step (write-ahead) and died before assigning.
    const stored = (await first.getDeployment('dep-2'))!;
    const candidates = GATEWAYS.map((deviceId) => ({ deviceId }));
    const stepped = stepDeployment(stored.deployment, new Date(AT), () => candidates);
    await first.saveDeployment(stepped.deployment, stored.version, AT, {
      ...audit,
      action: 'deployment.step',
    });
    for (const id of GATEWAYS)
      expect(await fleet.server.context.director.device(id)).not.toHaveProperty(
        'assignment.correlationId',
        'dep-2',
      );

    const second = new RolloutService(fleet.server.context, rollouts());
    expect(await second.ensureAssignments()).toBe(GATEWAYS.length);
    // A third start (or the same one twice) finds every assignment in place.
    const third = new RolloutService(fleet.server.context, rollouts());
    expect(await third.ensureAssignments()).toBe(0);
    await third.tick();
    for (const id of GATEWAYS) {
      expect((await fleet.server.context.director.device(id))?.assignment?.correlationId).toBe(
        'dep-2',
      );
      expect(await assignmentsOf(id, 'dep-2')).toBe(1);
    }
  });

  it('two processes stepping one deployment at once hand out the canary once', async () => {
    const a = new RolloutService(fleet.server.context, rollouts());
    const b = new RolloutService(fleet.server.context, rollouts());
    const store = rollouts();
    await store.createDeployment(
      createDeployment({ id: 'dep-3', release: IMAGE_V2.path, group: 'all', policy, at: AT }),
      AT,
      audit,
    );
    const [x, y] = await Promise.all([a.step('dep-3'), b.step('dep-3')]);
    const assigns = [...x, ...y].filter((act) => act.type === 'assign');
    expect(assigns).toHaveLength(1);
    expect(await assignmentsOf(assigns[0]!.deviceId, 'dep-3')).toBe(1);
    expect((await store.getDeployment('dep-3'))!.version).toBe(2);
  });

  it('survives a server restart mid-deployment: the new server finishes it, each device assigned once', async () => {
    const created = await fleet.call('POST', '/api/admin/v1/deployments', {
      token: fleet.tokens.releaser,
      body: {
        release: IMAGE_V2.path,
        group: 'all',
        policy: { ...policy, phases: [{ devices: 2 }, { percent: 100 }], maxConcurrent: 2 },
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    const first = fleet.server.context.rollouts!;
    const canaries = Object.keys(created.json.devices);
    expect(canaries).toHaveLength(2);
    await first.service.report(canaries[0]!, id, 'committed');
    // Stop the server between steps; a new one opens the same database.
    await fleet.server.close();
    const store = await openConfiguredStore(fleet.config);
    const server = await startFleetServer({ config: fleet.config, store, env: {}, logger: false });
    try {
      const engine = server.context.rollouts!;
      await engine.service.stop();
      expect(await engine.service.ensureAssignments()).toBe(0);
      for (let round = 0; round < 20; round += 1) {
        const d = (await engine.store.getDeployment(id))!.deployment;
        if (d.status === 'completed') break;
        for (const [deviceId, x] of Object.entries(d.devices)) {
          if (x.assignedAt !== undefined && x.state === 'pending')
            await engine.service.report(deviceId, id, 'committed');
        }
        await engine.service.tick();
      }
      const d = (await engine.store.getDeployment(id))!.deployment;
      expect(d.status).toBe('completed');
      expect(Object.keys(d.devices).sort()).toEqual(GATEWAYS);
      for (const deviceId of GATEWAYS) {
        expect(d.devices[deviceId]?.state).toBe('succeeded');
        expect(await assignmentsOf(deviceId, id, server.context.store)).toBe(1);
      }
    } finally {
      await server.close();
    }
  });
});
