/**
 * The rollout engine's persistence (issue 15): groups, deployments and log-in passwords, on the
 * fleet store's SQL layer (`sql-rollout-store.ts`, SQLite and PostgreSQL alike).
 *
 * Deployments are stored whole (the `Deployment` JSON value of `src/fleet/rollout.ts`) with a
 * `version` for optimistic concurrency: {@link RolloutStore.saveDeployment} writes only when the
 * caller read the version it names, so two server processes (or one restarted mid-step) never
 * apply one step twice — the loser gets `ERR_TUF_FLEET_CONFLICT`, reloads and steps again.
 * Every write carries an audit entry committed in the same transaction.
 *
 * @module
 */
import type { Deployment, DeploymentStatus } from '../../fleet/rollout.js';
import type { AuditInput } from './fleet-store.js';

/** A group of devices: an explicit list, or a saved query over inventory attributes. */
export type GroupRecord =
  | { name: string; kind: 'static'; devices: string[]; createdAt: string; updatedAt: string }
  | { name: string; kind: 'dynamic'; expression: string; createdAt: string; updatedAt: string };

/** What a caller writes for a group. */
export type GroupInput =
  | { name: string; kind: 'static'; devices: string[] }
  | { name: string; kind: 'dynamic'; expression: string };

/** A deployment as stored: the value and the version a save must name. */
export interface StoredDeployment {
  deployment: Deployment;
  version: number;
  updatedAt: string;
}

/** Filters of {@link RolloutStore.listDeployments}. */
export interface DeploymentQuery {
  status?: DeploymentStatus[];
  group?: string;
  release?: string;
}

/** Groups, deployments and passwords. Safe for concurrent use. */
export interface RolloutStore {
  /** @throws `ERR_TUF_FLEET_CONFLICT` when the name is taken; `BAD_REQUEST` for a bad group. */
  createGroup(input: GroupInput, at: string, audit: AuditInput): Promise<GroupRecord>;
  /** Replace a group's definition (its kind may change). @throws `NOT_FOUND`. */
  updateGroup(input: GroupInput, at: string, audit: AuditInput): Promise<GroupRecord>;
  /**
   * Remove a group.
   *
   * @throws `ERR_TUF_FLEET_CONFLICT` while a running or paused deployment uses it; `NOT_FOUND`.
   */
  deleteGroup(name: string, audit: AuditInput): Promise<void>;
  getGroup(name: string): Promise<GroupRecord | undefined>;
  listGroups(): Promise<GroupRecord[]>;

  /** Store a new deployment at version 1. @throws `ERR_TUF_FLEET_CONFLICT` for a taken id. */
  createDeployment(
    deployment: Deployment,
    at: string,
    audit: AuditInput,
  ): Promise<StoredDeployment>;
  /**
   * Save `deployment` if its stored version is still `expectedVersion`; returns the new version.
   *
   * @throws `ERR_TUF_FLEET_CONFLICT` for a stale version (someone else saved first);
   *   `NOT_FOUND` for an unknown id.
   */
  saveDeployment(
    deployment: Deployment,
    expectedVersion: number,
    at: string,
    audit: AuditInput,
  ): Promise<StoredDeployment>;
  getDeployment(id: string): Promise<StoredDeployment | undefined>;
  /** Newest first (by creation time, then id). */
  listDeployments(query?: DeploymentQuery): Promise<StoredDeployment[]>;

  /** Set (or replace) a user's password; the user must exist. @throws `NOT_FOUND`, `BAD_REQUEST`. */
  setPassword(userId: string, password: string, at: string, audit: AuditInput): Promise<void>;
  /** Whether the user exists, is not disabled, has a password and it matches. */
  checkPassword(userId: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}
