/**
 * The shared suite of the rollout store (groups, deployments with optimistic concurrency,
 * passwords), run on SQLite and PostgreSQL by `sqlite-rollout-store.spec.ts` and
 * `postgres-rollout-store.spec.ts`. Each harness opens a migrated fleet store and a rollout store
 * on the same database; `second()` opens another rollout store on it, as a second server
 * process would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDeployment, stepDeployment } from '../../../src/fleet/rollout.js';
import { verifyAuditChain } from '../../../src/server/store/audit-chain.js';
import type { AuditInput, FleetStore } from '../../../src/server/store/fleet-store.js';
import type { RolloutStore } from '../../../src/server/store/rollout-store.js';

export interface RolloutHarness {
  backend: string;
  fresh(): Promise<{ fleet: FleetStore; rollouts: RolloutStore }>;
  /** Another rollout store on the same database (another process). */
  second(): Promise<RolloutStore>;
  closeAll(): Promise<void>;
}

const AT = '2026-12-04T18:00:00.000Z';
const audit = (action: string, subject: string): AuditInput => ({
  actor: 'user:alice',
  action,
  subject,
  at: AT,
});
const policy = {
  phases: [{ devices: 1 }, { percent: 100 }],
  soakSeconds: 0,
  maxFailureRate: 0.2,
  maxConcurrent: 10,
  updateControl: 'forced' as const,
};

function deployment(id: string, group = 'gw') {
  return createDeployment({ id, release: 'fw/gw-2.bin', group, policy, at: AT });
}

export function rolloutStoreSuite(h: RolloutHarness): void {
  describe(`rollout store (${h.backend})`, () => {
    afterEach(() => h.closeAll());

    it('creates, lists, changes and removes groups, each write audited', async () => {
      const { fleet, rollouts } = await h.fresh();
      await rollouts.createGroup(
        { name: 'oslo', kind: 'static', devices: ['b', 'a', 'a'] },
        AT,
        audit('group.create', 'group:oslo'),
      );
      await rollouts.createGroup(
        { name: 'gw3', kind: 'dynamic', expression: 'model=gw-200 and hwrev>=3' },
        AT,
        audit('group.create', 'group:gw3'),
      );
      expect(await rollouts.getGroup('oslo')).toMatchObject({
        kind: 'static',
        devices: ['a', 'b'],
      });
      expect((await rollouts.listGroups()).map((g) => g.name)).toEqual(['gw3', 'oslo']);
      const later = '2026-12-04T19:00:00.000Z';
      const changed = await rollouts.updateGroup(
        { name: 'oslo', kind: 'dynamic', expression: 'site=oslo' },
        later,
        audit('group.update', 'group:oslo'),
      );
      expect(changed).toEqual({
        name: 'oslo',
        kind: 'dynamic',
        expression: 'site=oslo',
        createdAt: AT,
        updatedAt: later,
      });
      await rollouts.deleteGroup('gw3', audit('group.delete', 'group:gw3'));
      expect(await rollouts.getGroup('gw3')).toBeUndefined();
      const entries = await fleet.listAudit({});
      expect(entries.map((e) => e.action)).toEqual([
        'group.create',
        'group.create',
        'group.update',
        'group.delete',
      ]);
      expect(verifyAuditChain(entries).ok).toBe(true);
    });

    it('refuses a taken group name, a bad expression, a bad name and an unknown group, writing nothing', async () => {
      const { fleet, rollouts } = await h.fresh();
      await rollouts.createGroup(
        { name: 'g', kind: 'static', devices: [] },
        AT,
        audit('group.create', 'group:g'),
      );
      await expect(
        rollouts.createGroup(
          { name: 'g', kind: 'static', devices: [] },
          AT,
          audit('group.create', 'group:g'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      await expect(
        rollouts.createGroup(
          { name: 'h', kind: 'dynamic', expression: 'model=' },
          AT,
          audit('group.create', 'group:h'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      await expect(
        rollouts.createGroup(
          { name: "x'; DROP TABLE deployments; --", kind: 'static', devices: [] },
          AT,
          audit('group.create', 'group:x'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      await expect(
        rollouts.updateGroup(
          { name: 'nope', kind: 'static', devices: [] },
          AT,
          audit('group.update', 'group:nope'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_NOT_FOUND' });
      await expect(
        rollouts.deleteGroup('nope', audit('group.delete', 'group:nope')),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_NOT_FOUND' });
      expect((await rollouts.listGroups()).map((g) => g.name)).toEqual(['g']);
      expect(await fleet.listAudit({})).toHaveLength(1);
    });

    it('refuses to delete a group a running or paused deployment uses, and allows it once aborted', async () => {
      const { rollouts } = await h.fresh();
      await rollouts.createGroup(
        { name: 'gw', kind: 'static', devices: ['a'] },
        AT,
        audit('group.create', 'group:gw'),
      );
      const stored = await rollouts.createDeployment(
        deployment('dep-1'),
        AT,
        audit('deployment.create', 'deployment:dep-1'),
      );
      await expect(
        rollouts.deleteGroup('gw', audit('group.delete', 'group:gw')),
      ).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_CONFLICT',
        message: expect.stringContaining('dep-1'),
      });
      await rollouts.saveDeployment(
        { ...stored.deployment, status: 'aborted' },
        stored.version,
        AT,
        audit('deployment.abort', 'deployment:dep-1'),
      );
      await rollouts.deleteGroup('gw', audit('group.delete', 'group:gw'));
      expect(await rollouts.getGroup('gw')).toBeUndefined();
    });

    it('stores deployments whole, lists them by status and group, and refuses a taken id', async () => {
      const { rollouts } = await h.fresh();
      const d1 = deployment('dep-1');
      await rollouts.createDeployment(d1, AT, audit('deployment.create', 'deployment:dep-1'));
      await rollouts.createDeployment(
        { ...deployment('dep-2', 'other'), createdAt: '2026-12-04T18:30:00.000Z' },
        AT,
        audit('deployment.create', 'deployment:dep-2'),
      );
      await expect(
        rollouts.createDeployment(d1, AT, audit('deployment.create', 'deployment:dep-1')),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      expect(await rollouts.getDeployment('dep-1')).toEqual({
        deployment: d1,
        version: 1,
        updatedAt: AT,
      });
      expect((await rollouts.listDeployments()).map((s) => s.deployment.id)).toEqual([
        'dep-2',
        'dep-1',
      ]);
      expect((await rollouts.listDeployments({ group: 'gw' })).map((s) => s.deployment.id)).toEqual(
        ['dep-1'],
      );
      expect(await rollouts.listDeployments({ status: ['completed'] })).toEqual([]);
      expect(await rollouts.listDeployments({ release: "fw/gw-2.bin' OR '1'='1" })).toEqual([]);
      await expect(
        rollouts.createDeployment(
          { ...deployment('dep-3'), policy: { ...policy, maxConcurrent: 0 } },
          AT,
          audit('deployment.create', 'deployment:dep-3'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
    });

    it('applies one step once: a second writer holding the same version gets a conflict and nothing is written', async () => {
      const { fleet, rollouts } = await h.fresh();
      const created = await rollouts.createDeployment(
        deployment('dep-1'),
        AT,
        audit('deployment.create', 'deployment:dep-1'),
      );
      const other = await h.second();
      const mine = await rollouts.getDeployment('dep-1');
      const theirs = await other.getDeployment('dep-1');
      const candidates = () => [{ deviceId: 'a' }, { deviceId: 'b' }];
      const stepA = stepDeployment(mine!.deployment, new Date(AT), candidates);
      const stepB = stepDeployment(theirs!.deployment, new Date(AT), candidates);
      const saved = await rollouts.saveDeployment(
        stepA.deployment,
        created.version,
        AT,
        audit('deployment.step', 'deployment:dep-1'),
      );
      expect(saved.version).toBe(2);
      await expect(
        other.saveDeployment(
          stepB.deployment,
          theirs!.version,
          AT,
          audit('deployment.step', 'deployment:dep-1'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      const now = await other.getDeployment('dep-1');
      expect(now?.version).toBe(2);
      expect(now?.deployment).toEqual(stepA.deployment);
      expect((await fleet.listAudit({})).map((e) => e.action)).toEqual([
        'deployment.create',
        'deployment.step',
      ]);
      await expect(
        rollouts.saveDeployment(
          deployment('nope'),
          1,
          AT,
          audit('deployment.step', 'deployment:nope'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_NOT_FOUND' });
    });

    it('saves concurrently from two stores: exactly one of each pair wins', async () => {
      const { rollouts } = await h.fresh();
      await rollouts.createDeployment(
        deployment('dep-1'),
        AT,
        audit('deployment.create', 'deployment:dep-1'),
      );
      const other = await h.second();
      const base = (await rollouts.getDeployment('dep-1'))!;
      const results = await Promise.allSettled([
        rollouts.saveDeployment(
          { ...base.deployment, status: 'paused' },
          base.version,
          AT,
          audit('deployment.pause', 'deployment:dep-1'),
        ),
        other.saveDeployment(
          { ...base.deployment, status: 'aborted' },
          base.version,
          AT,
          audit('deployment.abort', 'deployment:dep-1'),
        ),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      expect((await rollouts.getDeployment('dep-1'))?.version).toBe(2);
    });

    it('keeps passwords as scrypt hashes and checks them; disabled users and unknown ids fail', async () => {
      const { fleet, rollouts } = await h.fresh();
      await fleet.createUser({ userId: 'alice', name: 'Alice', role: 'releaser', createdAt: AT });
      await rollouts.setPassword(
        'alice',
        'correct horse battery',
        AT,
        audit('user.password', 'user:alice'),
      );
      expect(await rollouts.checkPassword('alice', 'correct horse battery')).toBe(true);
      expect(await rollouts.checkPassword('alice', 'correct horse batterY')).toBe(false);
      expect(await rollouts.checkPassword('bob', 'correct horse battery')).toBe(false);
      await expect(
        rollouts.setPassword('alice', 'short', AT, audit('user.password', 'user:alice')),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      await expect(
        rollouts.setPassword(
          'bob',
          'correct horse battery',
          AT,
          audit('user.password', 'user:bob'),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_NOT_FOUND' });
      await rollouts.setPassword(
        'alice',
        'another long passphrase',
        AT,
        audit('user.password', 'user:alice'),
      );
      expect(await rollouts.checkPassword('alice', 'correct horse battery')).toBe(false);
      expect(await rollouts.checkPassword('alice', 'another long passphrase')).toBe(true);
      const entries = await fleet.listAudit({});
      expect(JSON.stringify(entries)).not.toContain('passphrase');
      expect(JSON.stringify(entries)).not.toContain('scrypt$');
      await fleet.updateUser('alice', { disabledAt: AT }, audit('user.disable', 'user:alice'));
      expect(await rollouts.checkPassword('alice', 'another long passphrase')).toBe(false);
    });
  });
}
