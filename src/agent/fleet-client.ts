/**
 * `FleetClient`: the device side of the fleet server's HTTP contract (docs/fleet-server-api.md),
 * an adapter at the edge of `tufota-agent`'s fleet mode. It implements:
 *
 * - **registration** in each provisioning mode (`register`): mutual TLS (the client certificate
 *   is the credential), a pre-authorized device key, manual acceptance (pending until an operator
 *   accepts), and a shared fleet secret (HMAC-SHA256 over the canonical JSON of the body);
 * - **device tokens**: challenge → ed25519 signature over
 *   `tufota-device-auth-v1\n<challengeId>\n<deviceId>\n<nonce>` → token, kept in memory only,
 *   renewed before it expires and once on a 401 (a token revoked or lost by a server restart);
 * - the **reads** an Uptane primary needs — director metadata (`/director/<deviceId>/`), image
 *   repository metadata (`/repo/metadata/`), images (`/repo/targets/DIR/SHA256.NAME`) — as
 *   `MetadataReader`s and an image fetcher, "not found" as `undefined`;
 * - the **posts**: the signed vehicle manifest, phase reports, log tails; and `GET /health`.
 *
 * Every request has a timeout (connect, headers, body) and every response body a length cap,
 * checked while reading (an endless body is cut at the cap, never buffered whole). Errors are
 * typed: what the server refused is a `FleetError` with the server's code and a message that
 * says what to do (a pending device names the admin call that accepts it); a transport failure
 * is a `DownloadError`; a manifest refused for an attack is an `UptaneError`.
 *
 * Trust: nothing read here is trusted for being read over TLS; metadata and images are verified
 * by the primary. TLS (and the client certificate) authenticate the device to the server.
 *
 * Not safe for concurrent token renewal from several processes; within one process calls may
 * overlap (a renewal in progress is shared).
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import { Agent, type Dispatcher, request } from 'undici';
import { canonicalString } from '../canonical/index.js';
import { targetUrlPath } from '../client/role-names.js';
import { bytesToHex, type PublicKeyData, type Signer } from '../crypto/index.js';
import {
  DownloadError,
  DownloadHttpError,
  DownloadLengthError,
  FLEET_ERROR_STATUS,
  FleetError,
  type FleetErrorCode,
  TufError,
  UptaneAttack,
  UptaneError,
} from '../errors.js';
import type { TargetFile } from '../models/index.js';

/** How the device proves who it is (one of the server's `provisioning.modes`). */
export type FleetProvisioning =
  | { mode: 'mtls' }
  | { mode: 'device-key' }
  | { mode: 'manual' }
  /** The fleet secret's bytes (the server's `--unsafe-shared-key FILE`). */
  | { mode: 'shared-key'; secret: Uint8Array };

/** One ECU as `register` announces it. */
export interface FleetEcuRegistration {
  ecuSerial: string;
  hardwareId: string;
  primary: boolean;
  publicKey: PublicKeyData;
  /**
   * The image the ECU runs (target path), for the server's record at first registration: the
   * factory image of a device that never installed an update.
   */
  installedTarget?: string;
}

/** What `register` tells the server besides identity. */
export interface FleetRegistrationInfo {
  model?: string;
  hardwareRevision?: string;
  attributes?: Record<string, string>;
  ecus: FleetEcuRegistration[];
}

/** Options of {@link FleetClient}. */
export interface FleetClientOptions {
  /** The server's base URL (`https://fleet.example.com/`). */
  url: string;
  deviceId: string;
  /** The device key: signs challenges (its public half is registered). */
  signer: Signer;
  provisioning: FleetProvisioning;
  /** PEM: the CA of the server's certificate, and the device's client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Milliseconds for connecting, for the headers and between body chunks (default 30 000). */
  timeoutMs?: number;
  /** The clock, for token expiry (default: the system clock). */
  now?: () => Date;
}

/** Outcome of {@link FleetClient.register}. */
export type RegistrationStatus = 'accepted' | 'pending';

/** Largest JSON answer read from the device API. */
export const MAX_JSON_RESPONSE = 64 * 1024;

/** A token is renewed this long before it expires (or at a quarter of its life if shorter). */
const RENEW_MARGIN_MS = 60_000;

const SIGNED_PREFIX = 'tufota-device-auth-v1';

interface Answer {
  status: number;
  body: Uint8Array;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function jsonObject(body: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const ATTACKS = new Set<string>(Object.values(UptaneAttack));

/**
 * The device client of the fleet server.
 *
 * @example
 * ```ts
 * const client = new FleetClient({ url: 'https://fleet.example.com/', deviceId: 'vin-1',
 *   signer, provisioning: { mode: 'device-key' }, tls: { ca } });
 * await client.register({ model: 'gw-200', ecus: [{ ecuSerial: 'gw-1', hardwareId: 'gateway',
 *   primary: true, publicKey: signer.publicKey }] });
 * const timestamp = await client.directorReader()('timestamp.json', 16_384);
 * ```
 */
export class FleetClient {
  readonly deviceId: string;
  readonly baseUrl: string;
  readonly #signer: Signer;
  readonly #provisioning: FleetProvisioning;
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;
  readonly #now: () => Date;
  #token: { token: string; renewAt: number } | undefined;
  #renewing: Promise<string> | undefined;

  constructor(options: FleetClientOptions) {
    const parsed = new URL(options.url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`FleetClient needs an http(s) URL, got ${parsed.protocol}`);
    }
    if (options.provisioning.mode === 'mtls' && parsed.protocol !== 'https:') {
      throw new TypeError('mtls provisioning needs an https: server URL');
    }
    this.baseUrl = withSlash(parsed.href);
    this.deviceId = options.deviceId;
    this.#signer = options.signer;
    this.#provisioning = options.provisioning;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#now = options.now ?? (() => new Date());
    const tls = options.tls ?? {};
    this.#dispatcher = new Agent({
      connect: {
        timeout: this.#timeoutMs,
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key } : {}),
      },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  /** Close the connections. */
  close(): Promise<void> {
    return this.#dispatcher.close();
  }

  /**
   * First contact, and on every later start (the server records model, ECUs and attributes).
   *
   * @returns `pending` when the device waits for an operator (manual mode).
   * @throws FleetError when refused (`ERR_TUF_FLEET_DEVICE_REFUSED`, `ERR_TUF_FLEET_FORBIDDEN`
   *   for a key that is not the pre-authorized one, `ERR_TUF_FLEET_CONFLICT` for a taken id).
   */
  async register(info: FleetRegistrationInfo): Promise<RegistrationStatus> {
    const body: Record<string, unknown> = {
      deviceId: this.deviceId,
      publicKey: this.#signer.publicKey,
      ...(info.model !== undefined ? { model: info.model } : {}),
      ...(info.hardwareRevision !== undefined ? { hardwareRevision: info.hardwareRevision } : {}),
      ...(info.attributes !== undefined ? { attributes: info.attributes } : {}),
      ecus: info.ecus,
    };
    const headers: Record<string, string> = {};
    if (this.#provisioning.mode === 'shared-key') {
      // The MAC covers the canonical JSON of the body without the MAC itself.
      body.sharedKeyMac = createHmac('sha256', this.#provisioning.secret)
        .update(canonicalString(body))
        .digest('hex');
    } else if (this.#provisioning.mode !== 'mtls') {
      // A known device (pre-authorized, or accepted before) proves its key before it may
      // register again; an unknown one cannot get a token yet: its first contact goes bare.
      try {
        headers.authorization = `Bearer ${await this.token()}`;
      } catch (error) {
        if (!(error instanceof FleetError)) throw error;
        if (error.code === 'ERR_TUF_FLEET_DEVICE_PENDING') return 'pending';
        if (error.code !== 'ERR_TUF_FLEET_UNAUTHENTICATED') throw error;
      }
    }
    const answer = await this.#json('POST', 'api/device/v1/register', body, headers);
    const status = jsonObject(answer.body)?.status;
    if (answer.status === 202 || status === 'pending') return 'pending';
    if (status !== undefined && status !== 'accepted') {
      throw new DownloadError(
        `${this.baseUrl}api/device/v1/register: unexpected status ${JSON.stringify(status)}`,
      );
    }
    return 'accepted';
  }

  /**
   * A device token (cached; renewed before expiry). Not used in mtls mode.
   *
   * @throws FleetError `ERR_TUF_FLEET_DEVICE_PENDING` while an operator has not accepted the
   *   device, `ERR_TUF_FLEET_UNAUTHENTICATED` when the server does not know its key.
   */
  async token(): Promise<string> {
    const cached = this.#token;
    if (cached !== undefined && this.#now().getTime() < cached.renewAt) return cached.token;
    this.#renewing ??= this.#newToken().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /** Forget the cached token (the next request gets a new one). */
  dropToken(): void {
    this.#token = undefined;
  }

  async #newToken(): Promise<string> {
    const challenge = jsonObject(
      (await this.#json('POST', 'api/device/v1/challenge', { deviceId: this.deviceId })).body,
    );
    const challengeId = challenge?.challengeId;
    const nonce = challenge?.nonce;
    if (typeof challengeId !== 'string' || typeof nonce !== 'string') {
      throw new DownloadError(`${this.baseUrl}api/device/v1/challenge: malformed answer`);
    }
    const message = `${SIGNED_PREFIX}\n${challengeId}\n${this.deviceId}\n${nonce}`;
    const signature = bytesToHex(await this.#signer.sign(new TextEncoder().encode(message)));
    const answer = jsonObject(
      (await this.#json('POST', 'api/device/v1/token', { challengeId, signature })).body,
    );
    const token = answer?.token;
    const expiresAt = Date.parse(String(answer?.expiresAt));
    if (typeof token !== 'string' || token === '' || Number.isNaN(expiresAt)) {
      throw new DownloadError(`${this.baseUrl}api/device/v1/token: malformed answer`);
    }
    const now = this.#now().getTime();
    const margin = Math.min(RENEW_MARGIN_MS, Math.max(0, (expiresAt - now) / 4));
    this.#token = { token, renewAt: expiresAt - margin };
    return token;
  }

  /** Reads `/director/<deviceId>/<file>`; not found is `undefined`. */
  directorReader(): (fileName: string, maxLength: number) => Promise<Uint8Array | undefined> {
    return (fileName, maxLength) =>
      this.#read(
        `director/${encodeURIComponent(this.deviceId)}/${encodeURIComponent(fileName)}`,
        maxLength,
      );
  }

  /** Reads `/repo/metadata/<file>`; not found is `undefined`. */
  imageReader(): (fileName: string, maxLength: number) => Promise<Uint8Array | undefined> {
    return (fileName, maxLength) =>
      this.#read(`repo/metadata/${encodeURIComponent(fileName)}`, maxLength);
  }

  /** Downloads an image by its consistent-snapshot name, at most its listed length. */
  async fetchImage(target: TargetFile): Promise<Uint8Array> {
    const hash = target.hashes.sha256 ?? Object.values(target.hashes)[0];
    const urlPath = `repo/targets/${targetUrlPath(target.path, hash)}`;
    const bytes = await this.#read(urlPath, target.length);
    if (bytes === undefined) {
      throw new DownloadHttpError(`${this.baseUrl}${urlPath}: not found on the server`, {
        url: `${this.baseUrl}${urlPath}`,
        statusCode: 404,
      });
    }
    return bytes;
  }

  /**
   * Post the signed vehicle version manifest (raw bytes).
   *
   * @throws UptaneError when the server refuses it naming an attack; FleetError otherwise.
   */
  async sendManifest(bytes: Uint8Array): Promise<void> {
    await this.#authed('POST', 'api/device/v1/manifest', bytes, 'application/json');
  }

  /** Post one phase report. */
  async postEvent(event: Record<string, unknown>): Promise<void> {
    await this.#authed(
      'POST',
      'api/device/v1/events',
      new TextEncoder().encode(JSON.stringify(event)),
      'application/json',
    );
  }

  /** Upload a log tail for an update. */
  async postLogs(correlationId: string, lines: readonly string[]): Promise<void> {
    await this.#authed(
      'POST',
      'api/device/v1/logs',
      new TextEncoder().encode(JSON.stringify({ correlationId, lines })),
      'application/json',
    );
  }

  /**
   * `GET /health`: the server is reachable over this client's TLS settings and answers ok.
   *
   * @throws DownloadError otherwise.
   */
  async health(signal?: AbortSignal): Promise<void> {
    const answer = await this.#send('GET', 'health', {
      maxLength: 4096,
      ...(signal !== undefined ? { signal } : {}),
    });
    const status = jsonObject(answer.body)?.status;
    if (answer.status !== 200 || status !== 'ok') {
      throw new DownloadHttpError(
        `${this.baseUrl}health answered HTTP ${answer.status} ${JSON.stringify(status ?? null)}`,
        { url: `${this.baseUrl}health`, statusCode: answer.status },
      );
    }
  }

  async #read(urlPath: string, maxLength: number): Promise<Uint8Array | undefined> {
    const answer = await this.#withAuth((headers) =>
      this.#send('GET', urlPath, { maxLength, headers }),
    );
    if (answer.status === 404 || answer.status === 410) return undefined;
    if (answer.status !== 200) throw this.#refusal(answer, urlPath);
    return answer.body;
  }

  async #authed(
    method: 'POST',
    urlPath: string,
    body: Uint8Array,
    contentType: string,
  ): Promise<Uint8Array> {
    const answer = await this.#withAuth((headers) =>
      this.#send(method, urlPath, {
        maxLength: MAX_JSON_RESPONSE,
        body,
        headers: { ...headers, 'content-type': contentType },
      }),
    );
    if (answer.status < 200 || answer.status >= 300) throw this.#refusal(answer, urlPath);
    return answer.body;
  }

  /** Run with the device's credentials; a 401 gets one retry with a fresh token. */
  async #withAuth(send: (headers: Record<string, string>) => Promise<Answer>): Promise<Answer> {
    if (this.#provisioning.mode === 'mtls') return send({});
    const first = await send({ authorization: `Bearer ${await this.token()}` });
    if (first.status !== 401) return first;
    this.dropToken();
    return send({ authorization: `Bearer ${await this.token()}` });
  }

  /** A JSON POST outside {@link #withAuth} (registration and the challenge-response itself). */
  async #json(
    method: 'POST',
    urlPath: string,
    value: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const answer = await this.#send(method, urlPath, {
      maxLength: MAX_JSON_RESPONSE,
      body: new TextEncoder().encode(JSON.stringify(value)),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    if (answer.status < 200 || answer.status >= 300) throw this.#refusal(answer, urlPath);
    return answer;
  }

  /** The typed error of a non-2xx answer, worded so a person knows what to do. */
  #refusal(answer: Answer, urlPath: string): Error {
    const url = `${this.baseUrl}${urlPath}`;
    const inner = jsonObject(answer.body)?.error;
    const error =
      typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {};
    const code = typeof error.code === 'string' ? error.code : undefined;
    const said = typeof error.message === 'string' ? error.message.slice(0, 500) : '';
    const id = this.deviceId;
    if (typeof error.attack === 'string' && ATTACKS.has(error.attack)) {
      return new UptaneError(error.attack as UptaneAttack, said.replace(/ \[[a-z-]+\]$/, ''));
    }
    if (code !== undefined && Object.hasOwn(FLEET_ERROR_STATUS, code)) {
      const fleetCode = code as FleetErrorCode;
      const advice: Partial<Record<FleetErrorCode, string>> = {
        ERR_TUF_FLEET_DEVICE_PENDING: `device ${id} is pending: an operator must accept it (POST /api/admin/v1/devices/${id}/accept)`,
        ERR_TUF_FLEET_DEVICE_REFUSED: `device ${id} was rejected or decommissioned by an operator: it gets no updates until re-provisioned`,
        ERR_TUF_FLEET_UNAUTHENTICATED: `the server does not accept device ${id}'s credentials (${this.#provisioning.mode}): check the provisioning (key pre-authorized, certificate signed by the device CA, shared secret)`,
        ERR_TUF_FLEET_FORBIDDEN: `device ${id} is not allowed to ${urlPath}`,
        ERR_TUF_FLEET_CONFLICT: `another device holds the id ${id}, or its key differs from the registered one`,
      };
      const lead = advice[fleetCode];
      return new FleetError(
        fleetCode,
        `${lead !== undefined ? `${lead}: ` : ''}${url} answered ${answer.status}${said !== '' ? `: ${said}` : ''}`,
      );
    }
    return new DownloadHttpError(
      `${url} answered HTTP ${answer.status}${said !== '' ? `: ${said}` : ''}`,
      { url, statusCode: answer.status },
    );
  }

  async #send(
    method: 'GET' | 'POST',
    urlPath: string,
    options: {
      maxLength: number;
      body?: Uint8Array;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<Answer> {
    const url = `${this.baseUrl}${urlPath}`;
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(this.#timeoutMs * 2)])
      : undefined;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        dispatcher: this.#dispatcher,
        headers: { 'user-agent': 'tufota-agent', ...options.headers },
        ...(options.body !== undefined ? { body: Buffer.from(options.body) } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
    } catch (error) {
      throw new DownloadError(`${url}: ${(error as Error).message}`, { url, cause: error });
    }
    // Error bodies are read only up to the JSON cap, whatever the caller's cap.
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    const cap = ok ? options.maxLength : Math.min(options.maxLength, MAX_JSON_RESPONSE);
    // Destroying the body is how a read stops at the cap; undici then emits an abort error
    // that nobody else would listen to.
    response.body.on('error', () => {});
    const declared = Number(response.headers['content-length']);
    if (ok && Number.isFinite(declared) && declared > cap) {
      response.body.destroy();
      throw new DownloadLengthError(`${url}: ${declared} bytes, more than the cap of ${cap}`, {
        url,
        maxLength: cap,
      });
    }
    const chunks: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        length += chunk.byteLength;
        if (length > cap) {
          response.body.destroy();
          if (!ok) break; // a long error body: keep what fits, the status says enough
          throw new DownloadLengthError(`${url}: more than the cap of ${cap} bytes`, {
            url,
            maxLength: cap,
          });
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof TufError) throw error;
      throw new DownloadError(`${url}: ${(error as Error).message}`, { url, cause: error });
    }
    return { status: response.statusCode, body: new Uint8Array(Buffer.concat(chunks)) };
  }
}
