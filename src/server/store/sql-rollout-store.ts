/**
 * {@link RolloutStore} on the fleet store's SQL layer: the same statements on SQLite and
 * PostgreSQL (`SqlDatabase`), each method one transaction, every write with its audit entry in
 * that transaction (`sql-audit.ts`).
 *
 * Optimistic concurrency: `saveDeployment` is `UPDATE … WHERE deployment_id = ? AND version = ?`;
 * zero rows changed means another writer saved first (or a restarted process holds a stale
 * copy), reported as `ERR_TUF_FLEET_CONFLICT` and nothing written — the caller reloads and steps
 * again, so no step is applied twice.
 *
 * Safe for concurrent use; open it on its own `SqlDatabase` (`openSqliteDatabase`,
 * `openPostgresDatabase`) after the schema was migrated (`openFleetStore` migrates).
 *
 * @module
 */
import { FleetError, FormatError } from '../../errors.js';
import { parseGroupExpression } from '../../fleet/group-expression.js';
import { type Deployment, type DeploymentStatus, validatePolicy } from '../../fleet/rollout.js';
import type { AuditInput } from './fleet-store.js';
import { hashPassword, verifyPassword } from './password-hash.js';
import type {
  DeploymentQuery,
  GroupInput,
  GroupRecord,
  RolloutStore,
  StoredDeployment,
} from './rollout-store.js';
import { appendAuditTx } from './sql-audit.js';
import { type SqlDatabase, type SqlRow, type SqlTransaction, storeError } from './sql-database.js';
import {
  badRequest,
  checkEnum,
  checkStringList,
  checkText,
  checkTime,
  jsonText,
  LIMITS,
} from './validation.js';

/** Devices in one static group. */
export const MAX_STATIC_GROUP_DEVICES = 100_000;
/** A stored deployment value (it lists every device of the group). */
const MAX_DEPLOYMENT_JSON = 64 * 1024 * 1024;
const STATUSES: readonly DeploymentStatus[] = ['running', 'paused', 'aborted', 'completed'];
/** Group and deployment names: what fits a URL path segment unescaped. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function checkName(value: unknown, field: string): string {
  const name = checkText(value, field, 128);
  if (!NAME.test(name)) {
    throw badRequest(
      `${field} ${JSON.stringify(name)} must be 1-128 of A-Z a-z 0-9 . _ - (starting alphanumeric)`,
    );
  }
  return name;
}

function checkGroup(input: GroupInput): GroupInput {
  if (typeof input !== 'object' || input === null) throw badRequest('a group must be an object');
  const name = checkName(input.name, 'group name');
  if (input.kind === 'static') {
    const devices = checkStringList(
      input.devices,
      'group devices',
      MAX_STATIC_GROUP_DEVICES,
      LIMITS.id,
    );
    return { name, kind: 'static', devices: [...new Set(devices)].sort() };
  }
  if (input.kind === 'dynamic') {
    const expression = checkText(input.expression, 'group expression', LIMITS.path);
    try {
      parseGroupExpression(expression);
    } catch (error) {
      throw badRequest(`group expression: ${(error as Error).message}`);
    }
    return { name, kind: 'dynamic', expression };
  }
  throw badRequest('group kind must be "static" or "dynamic"');
}

function checkDeployment(d: Deployment): void {
  if (typeof d !== 'object' || d === null) throw badRequest('a deployment must be an object');
  checkName(d.id, 'deployment id');
  checkText(d.release, 'deployment release', LIMITS.path);
  checkName(d.group, 'deployment group');
  checkEnum(d.status, 'deployment status', STATUSES);
  checkTime(d.createdAt, 'deployment createdAt');
  try {
    validatePolicy(d.policy);
  } catch (error) {
    if (error instanceof FormatError) throw badRequest(error.message);
    throw error;
  }
}

function groupFromRow(row: SqlRow): GroupRecord {
  const common = {
    name: String(row.name),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
  return row.kind === 'static'
    ? { ...common, kind: 'static', devices: JSON.parse(String(row.devices)) as string[] }
    : { ...common, kind: 'dynamic', expression: String(row.expression) };
}

function deploymentFromRow(row: SqlRow): StoredDeployment {
  return {
    deployment: JSON.parse(String(row.deployment)) as Deployment,
    version: Number(row.version),
    updatedAt: String(row.updated_at),
  };
}

/** What an audit entry records of a deployment (the device map can be large). */
function deploymentAuditView(d: Deployment, version: number): Record<string, unknown> {
  return {
    id: d.id,
    release: d.release,
    group: d.group,
    status: d.status,
    ...(d.statusReason !== undefined ? { statusReason: d.statusReason } : {}),
    phase: d.phase,
    devices: Object.keys(d.devices).length,
    version,
  };
}

/**
 * The rollout store on SQLite or PostgreSQL.
 *
 * @example
 * ```ts
 * const db = openSqliteDatabase('/var/lib/tufota/fleet.db');
 * const rollouts = new SqlRolloutStore(db);
 * const stored = await rollouts.getDeployment('dep-1');
 * ```
 */
export class SqlRolloutStore implements RolloutStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async #tx<T>(
    what: string,
    work: (tx: SqlTransaction) => Promise<T>,
    conflict?: string,
  ): Promise<T> {
    try {
      return await this.#db.transaction(work);
    } catch (error) {
      throw storeError(this.#db.dialect, error, what, conflict);
    }
  }

  async createGroup(input: GroupInput, at: string, audit: AuditInput): Promise<GroupRecord> {
    const group = checkGroup(input);
    checkTime(at, 'at');
    return this.#tx(
      'creating a group',
      async (tx) => {
        await tx.run(
          'INSERT INTO rollout_groups (name, kind, devices, expression, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
          [
            group.name,
            group.kind,
            group.kind === 'static'
              ? jsonText(group.devices, 'group devices', LIMITS.directorRecord)
              : null,
            group.kind === 'dynamic' ? group.expression : null,
            at,
            at,
          ],
        );
        const record = { ...group, createdAt: at, updatedAt: at } as GroupRecord;
        await appendAuditTx(this.#db.dialect, tx, { ...audit, after: groupAuditView(record) });
        return record;
      },
      `a group named ${JSON.stringify(group.name)} exists already`,
    );
  }

  async updateGroup(input: GroupInput, at: string, audit: AuditInput): Promise<GroupRecord> {
    const group = checkGroup(input);
    checkTime(at, 'at');
    return this.#tx('changing a group', async (tx) => {
      const [row] = await tx.all(
        `SELECT * FROM rollout_groups WHERE name = ?${this.#db.dialect.forUpdate}`,
        [group.name],
      );
      if (row === undefined) throw notFound(`no group named ${JSON.stringify(group.name)}`);
      const before = groupFromRow(row);
      await tx.run(
        'UPDATE rollout_groups SET kind = ?, devices = ?, expression = ?, updated_at = ? WHERE name = ?',
        [
          group.kind,
          group.kind === 'static'
            ? jsonText(group.devices, 'group devices', LIMITS.directorRecord)
            : null,
          group.kind === 'dynamic' ? group.expression : null,
          at,
          group.name,
        ],
      );
      const record = { ...group, createdAt: before.createdAt, updatedAt: at } as GroupRecord;
      await appendAuditTx(this.#db.dialect, tx, {
        ...audit,
        before: groupAuditView(before),
        after: groupAuditView(record),
      });
      return record;
    });
  }

  async deleteGroup(name: string, audit: AuditInput): Promise<void> {
    checkText(name, 'group name', 128);
    await this.#tx('removing a group', async (tx) => {
      const [row] = await tx.all(
        `SELECT * FROM rollout_groups WHERE name = ?${this.#db.dialect.forUpdate}`,
        [name],
      );
      if (row === undefined) throw notFound(`no group named ${JSON.stringify(name)}`);
      const users = await tx.all(
        "SELECT deployment_id FROM deployments WHERE group_name = ? AND status IN ('running', 'paused') ORDER BY deployment_id LIMIT 5",
        [name],
      );
      if (users.length > 0) {
        throw new FleetError(
          'ERR_TUF_FLEET_CONFLICT',
          `group ${JSON.stringify(name)} is used by deployment(s) ${users.map((u) => String(u.deployment_id)).join(', ')}: abort or finish them first`,
        );
      }
      await tx.run('DELETE FROM rollout_groups WHERE name = ?', [name]);
      await appendAuditTx(this.#db.dialect, tx, {
        ...audit,
        before: groupAuditView(groupFromRow(row)),
      });
    });
  }

  async getGroup(name: string): Promise<GroupRecord | undefined> {
    return this.#tx('reading a group', async (tx) => {
      const [row] = await tx.all('SELECT * FROM rollout_groups WHERE name = ?', [name]);
      return row === undefined ? undefined : groupFromRow(row);
    });
  }

  async listGroups(): Promise<GroupRecord[]> {
    return this.#tx('listing groups', async (tx) =>
      (await tx.all('SELECT * FROM rollout_groups ORDER BY name')).map(groupFromRow),
    );
  }

  async createDeployment(
    deployment: Deployment,
    at: string,
    audit: AuditInput,
  ): Promise<StoredDeployment> {
    checkDeployment(deployment);
    checkTime(at, 'at');
    const text = jsonText(deployment, 'deployment', MAX_DEPLOYMENT_JSON);
    return this.#tx(
      'creating a deployment',
      async (tx) => {
        await tx.run(
          'INSERT INTO deployments (deployment_id, status, group_name, release_path, version, created_at, updated_at, deployment)' +
            ' VALUES (?, ?, ?, ?, 1, ?, ?, ?)',
          [
            deployment.id,
            deployment.status,
            deployment.group,
            deployment.release,
            deployment.createdAt,
            at,
            text,
          ],
        );
        await appendAuditTx(this.#db.dialect, tx, {
          ...audit,
          // Canonical JSON (the audit hash) has no fractions: the policy is kept as its JSON text.
          after: {
            ...deploymentAuditView(deployment, 1),
            policy: JSON.stringify(deployment.policy),
          },
        });
        return { deployment: structuredClone(deployment), version: 1, updatedAt: at };
      },
      `a deployment with id ${JSON.stringify(deployment.id)} exists already`,
    );
  }

  async saveDeployment(
    deployment: Deployment,
    expectedVersion: number,
    at: string,
    audit: AuditInput,
  ): Promise<StoredDeployment> {
    checkDeployment(deployment);
    checkTime(at, 'at');
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) {
      throw badRequest('expectedVersion must be an integer ≥ 1');
    }
    const text = jsonText(deployment, 'deployment', MAX_DEPLOYMENT_JSON);
    return this.#tx('saving a deployment', async (tx) => {
      const [row] = await tx.all(
        `SELECT status, version, deployment FROM deployments WHERE deployment_id = ?${this.#db.dialect.forUpdate}`,
        [deployment.id],
      );
      if (row === undefined)
        throw notFound(`no deployment with id ${JSON.stringify(deployment.id)}`);
      const changed = await tx.run(
        'UPDATE deployments SET status = ?, version = ?, updated_at = ?, deployment = ? WHERE deployment_id = ? AND version = ?',
        [deployment.status, expectedVersion + 1, at, text, deployment.id, expectedVersion],
      );
      if (changed !== 1) {
        throw new FleetError(
          'ERR_TUF_FLEET_CONFLICT',
          `deployment ${deployment.id} was saved by another writer (stored version ${Number(row.version)}, this change was made on version ${expectedVersion}): reload it and try again`,
        );
      }
      const before = JSON.parse(String(row.deployment)) as Deployment;
      await appendAuditTx(this.#db.dialect, tx, {
        ...audit,
        before: deploymentAuditView(before, expectedVersion),
        after: deploymentAuditView(deployment, expectedVersion + 1),
      });
      return {
        deployment: structuredClone(deployment),
        version: expectedVersion + 1,
        updatedAt: at,
      };
    });
  }

  async getDeployment(id: string): Promise<StoredDeployment | undefined> {
    return this.#tx('reading a deployment', async (tx) => {
      const [row] = await tx.all('SELECT * FROM deployments WHERE deployment_id = ?', [id]);
      return row === undefined ? undefined : deploymentFromRow(row);
    });
  }

  async listDeployments(query: DeploymentQuery = {}): Promise<StoredDeployment[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (query.status !== undefined) {
      const statuses = query.status.map((s) => checkEnum(s, 'status', STATUSES));
      if (statuses.length === 0) return [];
      where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
    if (query.group !== undefined) {
      where.push('group_name = ?');
      params.push(checkText(query.group, 'group', 128));
    }
    if (query.release !== undefined) {
      where.push('release_path = ?');
      params.push(checkText(query.release, 'release', LIMITS.path));
    }
    const sql = `SELECT * FROM deployments${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, deployment_id DESC`;
    return this.#tx('listing deployments', async (tx) =>
      (await tx.all(sql, params)).map(deploymentFromRow),
    );
  }

  async setPassword(
    userId: string,
    password: string,
    at: string,
    audit: AuditInput,
  ): Promise<void> {
    checkText(userId, 'userId', LIMITS.id);
    checkTime(at, 'at');
    const hash = await hashPassword(password);
    await this.#tx('setting a password', async (tx) => {
      const [user] = await tx.all('SELECT user_id FROM users WHERE user_id = ?', [userId]);
      if (user === undefined) throw notFound(`no user with id ${JSON.stringify(userId)}`);
      const changed = await tx.run(
        'UPDATE user_passwords SET hash = ?, updated_at = ? WHERE user_id = ?',
        [hash, at, userId],
      );
      if (changed === 0) {
        await tx.run('INSERT INTO user_passwords (user_id, hash, updated_at) VALUES (?, ?, ?)', [
          userId,
          hash,
          at,
        ]);
      }
      // The hash is a secret too: the audit entry says that it changed, not what it is.
      await appendAuditTx(this.#db.dialect, tx, { ...audit, after: { userId, passwordSet: true } });
    });
  }

  async checkPassword(userId: string, password: string): Promise<boolean> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > LIMITS.id)
      return false;
    const row = await this.#tx('reading a password', async (tx) => {
      const [found] = await tx.all(
        'SELECT p.hash AS hash, u.disabled_at AS disabled_at FROM user_passwords p JOIN users u ON u.user_id = p.user_id WHERE p.user_id = ?',
        [userId],
      );
      return found;
    });
    if (row === undefined || (row.disabled_at !== null && row.disabled_at !== undefined))
      return false;
    return verifyPassword(password, String(row.hash));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

function notFound(message: string): FleetError {
  return new FleetError('ERR_TUF_FLEET_NOT_FOUND', message);
}

function groupAuditView(group: GroupRecord): Record<string, unknown> {
  return group.kind === 'static'
    ? {
        name: group.name,
        kind: group.kind,
        devices: group.devices.length > 1000 ? `${group.devices.length} devices` : group.devices,
      }
    : { name: group.name, kind: group.kind, expression: group.expression };
}
