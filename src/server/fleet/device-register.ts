/**
 * `POST /api/device/v1/register`: a device's first contact, under each provisioning mode the
 * server enables (docs/fleet-server-api.md, "Device authentication and provisioning"):
 *
 * - `mtls`: a client certificate the device CA verified, subject CN = `deviceId` → accepted;
 * - `shared-key` (only with `--unsafe-shared-key FILE`): `sharedKeyMac` = HMAC-SHA256 under the
 *   fleet secret over the canonical JSON of the body without `sharedKeyMac` → accepted;
 * - `device-key`: the operator pre-authorized the key; the device proves possession first
 *   (challenge → token) and registers with `Authorization: Bearer tdv_…`;
 * - `manual`: an unknown device is recorded `pending` with its key and ECUs (202).
 *
 * Everything is checked before anything is written (ECU serials unique, exactly one primary,
 * keys parse), so a refused registration writes nothing. The device row and its audit entry are
 * one store transaction; the director's ECU registration follows it.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { encodeCanonical } from '../../canonical/index.js';
import type { PublicKeyData } from '../../crypto/index.js';
import { FleetError } from '../../errors.js';
import { Key } from '../../models/index.js';
import type { EcuRegistration } from '../../uptane/director/director.js';
import type { FleetDevice, ProvisioningMode } from '../store/fleet-store.js';
import { authenticateDevice, clientCertificate, unverifiedCertificate } from './auth.js';
import { type FleetContext, isoNow } from './context.js';
import { ATTRIBUTES, ECU, ID, PUBLIC_KEY, text } from './schemas.js';

/** The body of `register`. */
export interface RegisterBody {
  deviceId: string;
  publicKey?: PublicKeyData;
  model?: string;
  hardwareRevision?: string;
  attributes?: Record<string, string>;
  ecus?: {
    ecuSerial: string;
    hardwareId: string;
    primary?: boolean;
    publicKey: PublicKeyData;
    /** The image the factory flashed: recorded at first registration only (see below). */
    installedTarget?: string;
  }[];
  sharedKeyMac?: string;
}

/** JSON schema of {@link RegisterBody}. */
export const REGISTER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['deviceId'],
  properties: {
    deviceId: ID,
    publicKey: PUBLIC_KEY,
    model: text(128),
    hardwareRevision: text(64),
    attributes: ATTRIBUTES,
    ecus: { type: 'array', minItems: 1, maxItems: 64, items: ECU },
    sharedKeyMac: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;

/** The answer: 201 accepted, 200 accepted and already known, 202 pending. */
export interface RegisterAnswer {
  status: 201 | 200 | 202;
  body: { status: 'accepted' | 'pending' };
}

function sameKey(a: PublicKeyData | undefined, b: PublicKeyData): boolean {
  return (
    a !== undefined &&
    a.keytype === b.keytype &&
    a.scheme === b.scheme &&
    a.keyval.public.toLowerCase() === b.keyval.public.toLowerCase()
  );
}

function checkKey(key: PublicKeyData, what: string): void {
  try {
    Key.fromPublicKeyData(key).keyId();
  } catch (error) {
    throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', `${what}: ${(error as Error).message}`);
  }
}

/** The ECUs as the director registers them, checked (one primary first, unique serials). */
function ecusOf(body: RegisterBody): { primary: EcuRegistration; secondaries: EcuRegistration[] } {
  const ecus = body.ecus ?? [];
  const primaries = ecus.filter((e) => e.primary === true);
  const primary = primaries.length === 0 && ecus.length === 1 ? ecus[0] : primaries[0];
  if (primary === undefined || primaries.length > 1) {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      'ecus must name exactly one primary ECU ("primary": true)',
    );
  }
  if (new Set(ecus.map((e) => e.ecuSerial)).size !== ecus.length) {
    throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', 'ecus lists an ECU serial twice');
  }
  for (const e of ecus) checkKey(e.publicKey, `the key of ECU ${e.ecuSerial}`);
  const plain = (e: (typeof ecus)[number]): EcuRegistration => ({
    ecuSerial: e.ecuSerial,
    hardwareId: e.hardwareId,
    publicKey: e.publicKey,
  });
  return { primary: plain(primary), secondaries: ecus.filter((e) => e !== primary).map(plain) };
}

/**
 * The factory images of a first registration: each ECU's `installedTarget`, looked up in the
 * image repository for the ECU's hardware id, becomes the director's record of what the ECU runs
 * (Uptane's inventory "at the time of manufacture"), so the device's first manifest is not
 * refused as reporting an image the director never assigned. Length and hashes come from the
 * image repository, never from the device: a device whose bytes differ is still caught by the
 * manifest check. A path the repository does not list for that hardware id is refused.
 */
async function withFactoryImages(
  ctx: FleetContext,
  body: RegisterBody,
  ecus: { primary: EcuRegistration; secondaries: EcuRegistration[] },
): Promise<{ primary: EcuRegistration; secondaries: EcuRegistration[] }> {
  const factory = async (e: EcuRegistration): Promise<EcuRegistration> => {
    const given = body.ecus?.find((x) => x.ecuSerial === e.ecuSerial)?.installedTarget;
    if (given === undefined) return e;
    let target: Awaited<ReturnType<FleetContext['images']['find']>>;
    try {
      target = await ctx.images.find(given, e.hardwareId);
    } catch (error) {
      if (error instanceof FleetError && error.code !== 'ERR_TUF_FLEET_STORE') {
        throw new FleetError(
          'ERR_TUF_FLEET_BAD_REQUEST',
          `ECU ${e.ecuSerial}: installedTarget ${given} is not an image of the repository for hardware id ${e.hardwareId} (${error.message})`,
        );
      }
      throw error;
    }
    return {
      ...e,
      installedImage: {
        filepath: target.path,
        length: target.length,
        hashes: { ...target.hashes },
      },
    };
  };
  return {
    primary: await factory(ecus.primary),
    secondaries: await Promise.all(ecus.secondaries.map(factory)),
  };
}

/** Whether `mac` is the fleet secret's HMAC over the body without it (constant time). */
function sharedKeyMacValid(secret: Uint8Array, body: RegisterBody): boolean {
  const { sharedKeyMac, ...rest } = body;
  if (sharedKeyMac === undefined) return false;
  const expected = createHmac('sha256', secret).update(encodeCanonical(rest)).digest();
  const given = Buffer.from(sharedKeyMac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Register (or re-register) the device of `body`.
 *
 * @throws FleetError 400 bad ECUs or keys, 401 bad proof, 403 refused or another key, 409 when
 *   a certificate names another device.
 */
export async function registerDevice(
  ctx: FleetContext,
  request: FastifyRequest,
  body: RegisterBody,
): Promise<RegisterAnswer> {
  const modes = ctx.config.provisioningModes;
  const { deviceId } = body;
  if (body.publicKey !== undefined) checkKey(body.publicKey, 'publicKey');
  const cert = modes.includes('mtls') ? clientCertificate(request) : undefined;
  const existing = await ctx.store.getDevice(deviceId);
  if (existing !== undefined && existing.status !== 'accepted' && existing.status !== 'pending') {
    throw new FleetError(
      'ERR_TUF_FLEET_DEVICE_REFUSED',
      `device ${deviceId} is ${existing.status}`,
    );
  }

  let mode: ProvisioningMode;
  if (cert !== undefined) {
    if (cert.commonName !== deviceId) {
      throw new FleetError(
        'ERR_TUF_FLEET_FORBIDDEN',
        `this client certificate is device ${cert.commonName}'s, not ${deviceId}'s`,
      );
    }
    mode = 'mtls';
  } else if (body.sharedKeyMac !== undefined) {
    if (ctx.unsafeSharedKey === undefined) {
      throw new FleetError(
        'ERR_TUF_FLEET_FORBIDDEN',
        'this server does not accept the shared fleet key (it runs without --unsafe-shared-key)',
      );
    }
    if (!sharedKeyMacValid(ctx.unsafeSharedKey, body)) {
      throw new FleetError(
        'ERR_TUF_FLEET_UNAUTHENTICATED',
        'sharedKeyMac is not the fleet key HMAC-SHA256 of this body',
      );
    }
    if (body.publicKey === undefined) {
      throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', 'shared-key registration needs publicKey');
    }
    if (existing !== undefined && !sameKey(existing.publicKey, body.publicKey)) {
      throw new FleetError(
        'ERR_TUF_FLEET_FORBIDDEN',
        `device ${deviceId} is registered with another key; the shared key does not replace it`,
      );
    }
    mode = 'shared-key';
  } else if (existing !== undefined) {
    if (body.publicKey !== undefined && !sameKey(existing.publicKey, body.publicKey)) {
      throw new FleetError(
        'ERR_TUF_FLEET_FORBIDDEN',
        `publicKey does not match the key device ${deviceId} was registered or pre-authorized with`,
      );
    }
    if (existing.status === 'pending') return { status: 202, body: { status: 'pending' } };
    if (request.headers.authorization === undefined) {
      throw new FleetError(
        'ERR_TUF_FLEET_UNAUTHENTICATED',
        `device ${deviceId} is known: prove its key first (POST /api/device/v1/challenge, then /token) and register with Authorization: Bearer tdv_…`,
      );
    }
    const device = await authenticateDevice(ctx, request);
    if (device.deviceId !== deviceId) {
      throw new FleetError(
        'ERR_TUF_FLEET_FORBIDDEN',
        `device ${device.deviceId} may not register device ${deviceId}`,
      );
    }
    mode = existing.provisioning;
  } else if (modes.includes('manual')) {
    if (body.publicKey === undefined) {
      throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', 'registration needs publicKey');
    }
    mode = 'manual';
  } else {
    const why = unverifiedCertificate(request);
    throw new FleetError(
      'ERR_TUF_FLEET_FORBIDDEN',
      why !== undefined
        ? `the client certificate is not accepted: ${why}`
        : `device ${deviceId} is unknown: an operator must pre-authorize its key (POST /api/admin/v1/devices)${modes.includes('mtls') ? ', or connect with a certificate from the device CA' : ''}`,
    );
  }

  const inventory = await ctx.director.device(deviceId);
  const ecus = inventory === undefined || body.ecus !== undefined ? ecusOf(body) : undefined;
  if (inventory === undefined && body.ecus === undefined) {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      `device ${deviceId} registers for the first time: give its ecus`,
    );
  }
  // Resolved before anything is written: a bad factory image refuses the whole registration.
  const factoryEcus =
    inventory === undefined && ecus !== undefined
      ? await withFactoryImages(ctx, body, ecus)
      : undefined;
  if (cert !== undefined && existing === undefined) {
    const holder = await ctx.store.findDeviceByCertificate(cert.sha256);
    if (holder !== undefined) {
      throw new FleetError(
        'ERR_TUF_FLEET_CONFLICT',
        `this certificate is registered to device ${holder.deviceId}`,
      );
    }
  }

  const at = isoNow(ctx);
  const status = mode === 'manual' && existing === undefined ? 'pending' : 'accepted';
  const hardwareIds =
    ecus === undefined
      ? (existing?.hardwareIds ?? [])
      : [ecus.primary.hardwareId, ...ecus.secondaries.map((e) => e.hardwareId)];
  const fields: Omit<FleetDevice, 'deviceId' | 'createdAt' | 'addresses'> = {
    status,
    provisioning: mode,
    hardwareIds: [...new Set(hardwareIds)],
    attributes: { ...(existing?.attributes ?? {}), ...(body.attributes ?? {}) },
    ...(body.publicKey !== undefined ? { publicKey: body.publicKey } : {}),
    ...(cert !== undefined ? { certificateSha256: cert.sha256 } : {}),
    ...(body.model !== undefined ? { model: body.model } : {}),
    ...(body.hardwareRevision !== undefined ? { hardwareRevision: body.hardwareRevision } : {}),
  };
  const audit = {
    actor: `device:${deviceId}`,
    action: existing === undefined ? 'device.register' : 'device.reregister',
    subject: `device:${deviceId}`,
    from: request.ip,
    at,
    ...(existing !== undefined ? { before: existing } : {}),
    after: { ...fields, deviceId },
  };
  if (existing === undefined) {
    await ctx.store.createDevice({ deviceId, createdAt: at, addresses: [], ...fields }, audit);
  } else {
    await ctx.store.updateDevice(deviceId, fields, audit);
  }
  if (factoryEcus !== undefined) {
    await ctx.director.registerDevice({ deviceId, ...factoryEcus });
  }
  await ctx.store.appendEvent({
    deviceId,
    kind: 'registered',
    at,
    data: { mode, status, ...(existing !== undefined ? { again: true } : {}) },
  });
  if (status === 'pending') return { status: 202, body: { status: 'pending' } };
  return { status: existing === undefined ? 201 : 200, body: { status: 'accepted' } };
}
