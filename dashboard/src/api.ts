/**
 * The dashboard's only way to the server: the admin API of docs/fleet-server-api.md, with the
 * `tfa_` session token from `POST /api/admin/v1/session` as bearer. Nothing here decides what a
 * person may do — the server's RBAC does, exactly as for any other API client; a 403 comes back
 * as an {@link ApiError} and the page shows its message.
 *
 * The token lives in `sessionStorage`: it ends with the tab, is not sent automatically with
 * requests (no cookie, so no CSRF surface) and is not shared with other tabs.
 */
import type {
  AuditEntry,
  DeploymentDetail,
  DeploymentListItem,
  DeviceDetail,
  DeviceEvent,
  DeviceLog,
  FleetUser,
  Group,
  Overview,
  Page,
  Release,
  RolloutPolicy,
  Session,
  TokenInfo,
} from './types.js';

const API = '/api/admin/v1';
const TOKEN_KEY = 'tufota.session';

/** An error answer of the API (`{"error": {"code", "message"}}`) or a failed request. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The stored session, if any (and not expired). */
export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(TOKEN_KEY);
  if (raw === null) return undefined;
  try {
    const session = JSON.parse(raw) as Session;
    if (typeof session.token !== 'string') return undefined;
    if (Date.parse(session.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(TOKEN_KEY);
      return undefined;
    }
    return session;
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    return undefined;
  }
}

/** Listeners told when the session ends (log-out, or a 401 from the server). */
const sessionListeners = new Set<() => void>();

export function onSessionEnd(listener: () => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

export function logOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const listener of sessionListeners) listener();
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const session = currentSession();
  if (session !== undefined) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'ERR_NETWORK', `The server cannot be reached (${String(error)}).`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
    const message =
      typeof error?.message === 'string'
        ? error.message
        : `${method} ${path} failed: HTTP ${response.status} ${response.statusText}`;
    // A session the server no longer accepts (expired, revoked): back to the log-in page.
    if (response.status === 401 && path !== '/session') logOut();
    throw new ApiError(response.status, code, message);
  }
  return parsed as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

const enc = encodeURIComponent;

/** A list answer: the server wraps lists as `{items}`; a bare array is accepted too. */
async function list<T>(path: string): Promise<T[]> {
  const value = await request<T[] | { items: T[] }>('GET', path);
  return Array.isArray(value) ? value : (value?.items ?? []);
}

/** Log in; the session is stored for this tab. */
export async function logIn(userId: string, password: string): Promise<Session> {
  const session = await request<Session>('POST', '/session', { userId, password });
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
  return session;
}

/**
 * Log in with an existing `tfa_` API token (e.g. the admin token `tufota server init` prints),
 * for servers where people have no password. The token is checked with `GET /tokens` (any role
 * may list its own) before it is kept.
 */
export async function logInWithToken(token: string): Promise<Session> {
  const session: Session = {
    token,
    expiresAt: new Date(Date.now() + 12 * 3600_000).toISOString(),
    user: { userId: 'API token' },
  };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
  try {
    const tokens = await list<{ userId?: string }>('/tokens');
    const owners = [...new Set(tokens.map((t) => t.userId).filter((u) => u !== undefined))];
    if (owners.length === 1) session.user = { userId: owners[0] as string };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
    return session;
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw error;
  }
}

export const api = {
  overview: () => request<Overview>('GET', '/overview'),
  devices: (filters: Record<string, string | number | undefined>) =>
    request<Page<DeviceDetail>>('GET', `/devices${query(filters)}`),
  device: (id: string) => request<DeviceDetail>('GET', `/devices/${enc(id)}`),
  deviceAction: (id: string, action: 'accept' | 'reject' | 'decommission') =>
    request<unknown>('POST', `/devices/${enc(id)}/${action}`, {}),
  events: (id: string, correlationId?: string) =>
    request<Page<DeviceEvent>>('GET', `/devices/${enc(id)}/events${query({ correlationId })}`),
  logs: (id: string, correlationId?: string) =>
    request<Page<DeviceLog>>('GET', `/devices/${enc(id)}/logs${query({ correlationId })}`),
  groups: () => list<Group>('/groups'),
  group: (name: string) =>
    request<{ group: Group; members: string[] }>('GET', `/groups/${enc(name)}`),
  createGroup: (group: Pick<Group, 'name' | 'kind' | 'expression' | 'devices'>) =>
    request<Group>('POST', '/groups', group),
  deleteGroup: (name: string) => request<unknown>('DELETE', `/groups/${enc(name)}`),
  releases: () => list<Release>('/releases'),
  deployments: () => list<DeploymentListItem>('/deployments'),
  deployment: (id: string) => request<DeploymentDetail>('GET', `/deployments/${enc(id)}`),
  createDeployment: (body: { release: string; group: string; policy: RolloutPolicy }) =>
    request<DeploymentDetail['deployment']>('POST', '/deployments', body),
  deploymentAction: (id: string, action: 'pause' | 'resume' | 'abort' | 'retry', reason?: string) =>
    request<unknown>(
      'POST',
      `/deployments/${enc(id)}/${action}`,
      reason === undefined ? {} : { reason },
    ),
  audit: (afterSeq?: number, limit = 50) => list<AuditEntry>(`/audit${query({ afterSeq, limit })}`),
  users: () => list<FleetUser>('/users'),
  createUser: (user: { userId: string; name: string; role: string }) =>
    request<FleetUser>('POST', '/users', user),
  updateUser: (userId: string, patch: Record<string, unknown>) =>
    request<FleetUser>('PATCH', `/users/${enc(userId)}`, patch),
  tokens: () => list<TokenInfo>('/tokens'),
  createToken: (body: {
    userId?: string;
    scopes: string[];
    expiresInDays: number;
    description: string;
  }) => request<{ token: string } & Partial<TokenInfo>>('POST', '/tokens', body),
  revokeToken: (tokenId: string) => request<unknown>('DELETE', `/tokens/${enc(tokenId)}`),
};

/** The message to show for any error a page caught. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}
