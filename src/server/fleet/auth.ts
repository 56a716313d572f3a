/**
 * Who is asking: people by their `tfa_` bearer token, devices by a verified client certificate
 * (mTLS) or a `tdv_` bearer token. Each function either returns the principal or throws a
 * `FleetError`: 401 for missing, unknown, expired or revoked credentials; 403 for credentials
 * that are valid but not allowed (role, scope, another device, a device not accepted).
 *
 * A token is looked up by the SHA-256 of the presented secret and the stored digest compared in
 * constant time; its `lastUsedAt` is touched on every use. A device's status is read on every
 * request, so a decommissioned device loses access at once, tokens or not.
 *
 * Adapter over the store. Safe for concurrent use.
 *
 * @module
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { FleetError } from '../../errors.js';
import type { ApiToken, FleetDevice, FleetUser, TokenScope } from '../store/fleet-store.js';
import { type FleetContext, isoNow } from './context.js';
import { digestsEqual, permits, sha256Hex, TOKEN_PATTERN } from './tokens.js';

const pending = new WeakMap<FastifyRequest, (() => Promise<void>)[]>();

/**
 * Run `write` once the request has succeeded (status < 400), before the answer is sent: token
 * `lastUsedAt` and device contact are bookkeeping of accepted requests only, so a refused
 * request writes nothing at all.
 */
export function afterSuccess(request: FastifyRequest, write: () => Promise<void>): void {
  const list = pending.get(request) ?? [];
  list.push(write);
  pending.set(request, list);
}

/** Run the writes {@link afterSuccess} queued for `request` (the app's `onSend` hook). */
export async function runAfterSuccess(request: FastifyRequest, status: number): Promise<void> {
  const list = pending.get(request);
  pending.delete(request);
  if (list === undefined || status >= 400) return;
  for (const write of list) await write();
}

/** A person acting through one of their tokens. */
export interface UserPrincipal {
  user: FleetUser;
  token: ApiToken;
  /** `user:<id>` for the audit log. */
  actor: string;
}

/** A verified client certificate presented on this connection. */
export interface ClientCertificate {
  /** The subject CN: the device id. */
  commonName: string;
  /** Hex SHA-256 of the DER certificate. */
  sha256: string;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer ([^\s]+)$/.exec(header);
  if (m === null) {
    throw new FleetError(
      'ERR_TUF_FLEET_UNAUTHENTICATED',
      'the Authorization header must be "Bearer <token>"',
    );
  }
  return m[1];
}

async function findToken(ctx: FleetContext, secret: string, kind: string): Promise<ApiToken> {
  if (!TOKEN_PATTERN.test(secret)) {
    throw new FleetError('ERR_TUF_FLEET_UNAUTHENTICATED', `that is not a ${kind} token`);
  }
  const digest = sha256Hex(secret);
  const token = await ctx.store.findTokenBySha256(digest);
  if (token === undefined || !digestsEqual(token.sha256, digest)) {
    throw new FleetError('ERR_TUF_FLEET_UNAUTHENTICATED', `unknown ${kind} token`);
  }
  const now = isoNow(ctx);
  if (token.revokedAt !== undefined) {
    throw new FleetError(
      'ERR_TUF_FLEET_UNAUTHENTICATED',
      `this ${kind} token was revoked at ${token.revokedAt}`,
    );
  }
  if (Date.parse(token.expiresAt) <= Date.parse(now)) {
    throw new FleetError(
      'ERR_TUF_FLEET_UNAUTHENTICATED',
      `this ${kind} token expired at ${token.expiresAt}`,
    );
  }
  return token;
}

/**
 * The person behind the request's `tfa_` token, allowed to act at `needed`.
 *
 * @throws FleetError 401 without a valid token, 403 when role or scopes do not allow `needed`.
 */
export async function authenticateUser(
  ctx: FleetContext,
  request: FastifyRequest,
  needed: TokenScope,
): Promise<UserPrincipal> {
  const secret = bearer(request);
  if (secret === undefined) {
    throw new FleetError(
      'ERR_TUF_FLEET_UNAUTHENTICATED',
      'this endpoint needs an API token: Authorization: Bearer tfa_…',
    );
  }
  if (!secret.startsWith('tfa_')) {
    throw new FleetError('ERR_TUF_FLEET_UNAUTHENTICATED', 'the admin API takes tfa_ tokens');
  }
  const token = await findToken(ctx, secret, 'API');
  const user = token.userId === undefined ? undefined : await ctx.store.getUser(token.userId);
  if (user === undefined || user.disabledAt !== undefined) {
    throw new FleetError(
      'ERR_TUF_FLEET_UNAUTHENTICATED',
      'the user of this token is disabled or gone',
    );
  }
  if (!permits(user.role, token.scopes, needed)) {
    throw new FleetError(
      'ERR_TUF_FLEET_FORBIDDEN',
      `this needs the ${needed} scope; user ${user.userId} (${user.role}) with a token scoped ${token.scopes.join(',') || 'to nothing'} may not`,
    );
  }
  afterSuccess(request, () => ctx.store.touchToken(token.tokenId, isoNow(ctx)));
  return { user, token, actor: `user:${user.userId}` };
}

/** The verified client certificate of the request's TLS connection, if any. */
export function clientCertificate(request: FastifyRequest): ClientCertificate | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) {
    return undefined;
  }
  const peer = socket.getPeerCertificate();
  if (peer?.raw === undefined) return undefined;
  // The subject as the X509Certificate API parses it: one CN, no multi-valued tricks.
  const subject = new X509Certificate(peer.raw).subject.split('\n');
  const cns = subject.filter((line) => line.startsWith('CN=')).map((line) => line.slice(3));
  if (cns.length !== 1 || cns[0] === '') return undefined;
  return {
    commonName: cns[0] as string,
    sha256: createHash('sha256').update(peer.raw).digest('hex'),
  };
}

/** Whether a TLS client presented a certificate the device CA did not verify. */
export function unverifiedCertificate(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized === true) {
    return undefined;
  }
  const peer = socket.getPeerCertificate();
  if (peer === undefined || Object.keys(peer).length === 0) return undefined;
  return String(socket.authorizationError ?? 'not signed by the device CA');
}

/** Refuse a device that is not (or no longer) accepted. */
export function requireAccepted(device: FleetDevice): void {
  if (device.status === 'accepted') return;
  if (device.status === 'pending') {
    throw new FleetError(
      'ERR_TUF_FLEET_DEVICE_PENDING',
      `device ${device.deviceId} waits for an operator to accept it`,
    );
  }
  throw new FleetError(
    'ERR_TUF_FLEET_DEVICE_REFUSED',
    `device ${device.deviceId} is ${device.status}`,
  );
}

/**
 * The device behind the request: its verified client certificate (mTLS, when enabled) or its
 * `tdv_` token. Only accepted devices pass. Records the contact (last seen, address).
 *
 * @throws FleetError 401 without valid credentials, 403 for a device not accepted.
 */
export async function authenticateDevice(
  ctx: FleetContext,
  request: FastifyRequest,
): Promise<FleetDevice> {
  let device: FleetDevice | undefined;
  const secret = bearer(request);
  if (secret !== undefined) {
    if (!secret.startsWith('tdv_')) {
      throw new FleetError('ERR_TUF_FLEET_UNAUTHENTICATED', 'device endpoints take tdv_ tokens');
    }
    const token = await findToken(ctx, secret, 'device');
    if (token.deviceId === undefined) {
      throw new FleetError('ERR_TUF_FLEET_UNAUTHENTICATED', 'not a device token');
    }
    device = await ctx.store.getDevice(token.deviceId);
    const { tokenId } = token;
    afterSuccess(request, () => ctx.store.touchToken(tokenId, isoNow(ctx)));
  } else if (ctx.config.provisioningModes.includes('mtls')) {
    const cert = clientCertificate(request);
    if (cert !== undefined) {
      device = await ctx.store.findDeviceByCertificate(cert.sha256);
      if (device !== undefined && device.deviceId !== cert.commonName) device = undefined;
    }
  }
  if (device === undefined) {
    throw new FleetError(
      'ERR_TUF_FLEET_UNAUTHENTICATED',
      'this endpoint needs a device token (Authorization: Bearer tdv_…, from /api/device/v1/token) or a registered client certificate',
    );
  }
  requireAccepted(device);
  const { deviceId } = device;
  afterSuccess(request, () => ctx.store.recordContact(deviceId, isoNow(ctx), request.ip));
  return device;
}

/** Refuse a device acting for another device. */
export function requireSameDevice(device: FleetDevice, deviceId: string): void {
  if (device.deviceId !== deviceId) {
    throw new FleetError(
      'ERR_TUF_FLEET_FORBIDDEN',
      `device ${device.deviceId} may not act for device ${deviceId}`,
    );
  }
}
