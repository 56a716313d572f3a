/**
 * `startFleetServer`: wire the fleet server from its configuration — the director on the
 * store's inventory with its online keys, the image lookup, HTTPS with client certificates when
 * configured — listen, and prune deployment logs on a bounded timer.
 *
 * TLS: with `tls.cert`/`tls.key` the server speaks HTTPS; with the `mtls` mode it also asks for
 * a client certificate (`requestCert: true`) and verifies it against the device CA, but lets the
 * handshake finish without one (`rejectUnauthorized: false`) so that people with tokens and
 * devices with tokens use the same port; the routes decide (`auth.ts`).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { InvalidStateError } from '../../errors.js';
import { Director } from '../../uptane/director/director.js';
import { resolveStaticRoot } from '../static-server.js';
import type { FleetStore } from '../store/fleet-store.js';
import { createFleetApp } from './app.js';
import type { FleetServerConfig } from './config.js';
import type { FleetContext } from './context.js';
import { loadDirectorSigners } from './director-keys.js';
import { RepositoryImageLookup } from './image-lookup.js';
import { startLogPruning } from './log-retention.js';

/** Options of {@link startFleetServer}. */
export interface StartFleetServerOptions {
  config: FleetServerConfig;
  /** The opened, migrated store; closed by {@link FleetServer.close}. */
  store: FleetStore;
  env: Record<string, string | undefined>;
  /** The fleet secret of the shared-key mode (`--unsafe-shared-key FILE`). */
  unsafeSharedKey?: Uint8Array;
  /** The clock (tests). */
  now?: () => Date;
  /** pino options or `false` (tests). */
  logger?: FastifyServerOptions['logger'];
}

/** A running fleet server. */
export interface FleetServer {
  /** `http(s)://HOST:PORT` */
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly context: FleetContext;
  /** Stop listening, stop pruning, close the store. */
  close(): Promise<void>;
}

async function readTls(config: FleetServerConfig): Promise<HttpsServerOptions | undefined> {
  if (config.tls === undefined) return undefined;
  const read = (file: string, what: string) =>
    fs.readFile(file).catch((error: Error) => {
      throw new InvalidStateError(`cannot read the ${what} ${file}: ${error.message}`, {
        cause: error,
      });
    });
  const options: HttpsServerOptions = {
    cert: await read(config.tls.cert, 'TLS certificate'),
    key: await read(config.tls.key, 'TLS key'),
    minVersion: 'TLSv1.2',
  };
  if (config.provisioningModes.includes('mtls')) {
    options.ca = await read(config.deviceCa, 'device CA certificate');
    options.requestCert = true;
    options.rejectUnauthorized = false;
  }
  return options;
}

/**
 * Start the server.
 *
 * @example
 * ```ts
 * const server = await startFleetServer({ config, store, env: process.env });
 * console.log(server.url);
 * ```
 */
export async function startFleetServer(options: StartFleetServerOptions): Promise<FleetServer> {
  const { config, store } = options;
  const now = options.now ?? (() => new Date());
  const repositoryRoot = await resolveStaticRoot(config.repositoryDir);
  const https = await readTls(config);
  const director = await Director.create({
    inventory: store.inventory,
    signers: await loadDirectorSigners(config.directorKeysDir, options.env),
    now,
  });
  const context: FleetContext = {
    store,
    director,
    config,
    now,
    images: new RepositoryImageLookup({
      repositoryDir: config.repositoryDir,
      trustedRoot: config.repositoryTrustedRoot,
      ...(options.now !== undefined ? { now: options.now } : {}),
    }),
    ...(options.unsafeSharedKey !== undefined ? { unsafeSharedKey: options.unsafeSharedKey } : {}),
  };
  const app = await createFleetApp(context, {
    repositoryRoot,
    ...(https !== undefined ? { https } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  if (options.unsafeSharedKey !== undefined) {
    app.log.warn(
      'UNSAFE: the shared fleet key is enabled (--unsafe-shared-key): anyone holding it can register devices',
    );
  }
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw new InvalidStateError(
      `cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const pruning = startLogPruning(store, config, now, app.log);
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${https !== undefined ? 'https' : 'http'}://${host}:${address.port}`,
    port: address.port,
    app,
    context,
    close: async () => {
      pruning.stop();
      await app.close();
      await store.close();
    },
  };
}
