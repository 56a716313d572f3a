/**
 * Wire shapes of the admin API the dashboard reads (docs/fleet-server-api.md). Written out here
 * rather than imported from the server sources: the dashboard is a separate browser bundle and
 * depends on the HTTP contract, not on the server's modules.
 */

export type DeviceStatus = 'pending' | 'accepted' | 'rejected' | 'decommissioned';
export type UserRole = 'viewer' | 'operator' | 'releaser' | 'admin';

export interface Session {
  token: string;
  expiresAt: string;
  user: { userId: string; name?: string; role?: UserRole };
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Ecu {
  ecuSerial: string;
  hardwareId: string;
  primary: boolean;
  installedTarget?: string;
  installedLength?: number;
  installedSha256?: string;
  assignedTarget?: string;
  correlationId?: string;
}

export interface DeviceDetail {
  deviceId: string;
  status: DeviceStatus;
  provisioning?: string;
  model?: string;
  hardwareRevision?: string;
  hardwareIds?: string[];
  addresses?: string[];
  attributes?: Record<string, string>;
  createdAt?: string;
  firstSeen?: string;
  lastSeen?: string;
  ecus?: Ecu[];
  groups?: string[];
}

export interface DeviceEvent {
  id: number;
  kind: string;
  correlationId?: string;
  at: string;
  data: Record<string, unknown>;
}

export interface DeviceLog {
  id: number;
  correlationId: string;
  at: string;
  lines: string[];
}

export interface Group {
  name: string;
  kind: 'static' | 'dynamic';
  expression?: string;
  devices?: string[];
  members?: number;
}

export interface Release {
  targetPath: string;
  version?: string;
  hardwareIds: string[];
  releaseCounter?: number;
  length: number;
  installedOn: number | string[];
}

export interface Overview {
  devices: Record<string, number>;
  versions: { targetPath: string; devices: number }[];
  deployments: Record<string, number>;
}

export type RolloutDeviceState =
  | 'pending'
  | 'downloading'
  | 'installing'
  | 'rebooting'
  | 'succeeded'
  | 'failed'
  | 'rolledBack'
  | 'skipped';

/** Every device state, in the order a device passes through them. */
export const ROLLOUT_STATES: readonly RolloutDeviceState[] = [
  'pending',
  'downloading',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rolledBack',
  'skipped',
];

export type PhaseSize = { devices: number } | { percent: number };

export interface MaintenanceWindow {
  days: string[];
  start: string;
  end: string;
  utcOffsetMinutes: number;
}

export interface RolloutPolicy {
  phases: PhaseSize[];
  soakSeconds: number;
  maxFailureRate: number;
  maxConcurrent: number;
  maintenanceWindows?: MaintenanceWindow[];
  updateControl: 'forced' | 'consent';
}

export type DeploymentStatus = 'running' | 'paused' | 'aborted' | 'completed';

export interface Deployment {
  id: string;
  release: string;
  group: string;
  policy: RolloutPolicy;
  status: DeploymentStatus;
  statusReason?: string;
  phase: number;
  phaseStartedAt?: string;
  phaseFinishedAt?: string;
  devices: Record<
    string,
    { phase: number; state: RolloutDeviceState; assignedAt?: string; reason?: string }
  >;
  incompatible: Record<string, string>;
  createdAt: string;
  timeline: { at: string; event: string }[];
}

export type Summary = Partial<Record<RolloutDeviceState, number>>;

export interface DeploymentListItem {
  id: string;
  release: string;
  group: string;
  status: DeploymentStatus;
  phase: number;
  summary: Summary;
}

export interface DeploymentDetail {
  deployment: Deployment;
  summary: Summary;
  failures: { deviceId: string; state: RolloutDeviceState; reason?: string; logs?: string }[];
  incompatible: Record<string, string> | { deviceId: string; reason: string }[];
}

export interface AuditEntry {
  seq: number;
  actor: string;
  action: string;
  subject: string;
  from?: string;
  at: string;
  before?: unknown;
  after?: unknown;
  hash?: string;
}

export interface FleetUser {
  userId: string;
  name: string;
  role: UserRole;
  createdAt?: string;
  disabledAt?: string;
}

export interface TokenInfo {
  tokenId: string;
  userId?: string;
  scopes: string[];
  description?: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
}
