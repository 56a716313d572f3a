/**
 * `tufota server init|start|ca`: the fleet server (docs/fleet-server.md).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../errors.js';
import {
  CONFIG_HELP,
  type ConfigOverrides,
  LOG_LEVELS,
  loadFleetConfig,
} from '../../server/fleet/config.js';
import {
  initDeviceCa,
  issueDeviceCertificate,
  issueServerCertificate,
} from '../../server/fleet/device-ca.js';
import { initFleetServer } from '../../server/fleet/init.js';
import { openConfiguredStore } from '../../server/fleet/open-store.js';
import { startFleetServer } from '../../server/fleet/server.js';
import {
  type Command,
  integerOption,
  type ParsedArgs,
  stringOption,
  unknownSubcommand,
} from '../args.js';
import { type Io, note, printResult, warn } from '../io.js';

function configPath(args: ParsedArgs, io: Io): string {
  const file = stringOption(args, 'config') ?? io.env.TUFOTA_SERVER_CONFIG;
  if (file === undefined) {
    throw new UsageError('tufota server needs --config FILE (or $TUFOTA_SERVER_CONFIG)', {
      hint: 'tufota server init --config FILE --repository DIR writes a configuration',
    });
  }
  return file;
}

function overrides(args: ParsedArgs): ConfigOverrides {
  const level = stringOption(args, 'log-level');
  if (level !== undefined && !LOG_LEVELS.includes(level as (typeof LOG_LEVELS)[number])) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const host = stringOption(args, 'host');
  const port = integerOption(args, 'port', 0, 65535);
  return {
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(level !== undefined ? { logLevel: level } : {}),
  };
}

/** Write a starting configuration when `file` does not exist yet. */
async function ensureConfig(file: string, args: ParsedArgs, io: Io): Promise<void> {
  const exists = await fs.access(file).then(
    () => true,
    () => false,
  );
  if (exists) return;
  const repository = stringOption(args, 'repository');
  if (repository === undefined) {
    throw new UsageError(`${file} does not exist: give --repository DIR to create it`, {
      hint: 'the repository is the tufota init directory the server publishes under /repo/',
    });
  }
  const config = {
    host: '127.0.0.1',
    port: 8443,
    dataDir: 'data',
    repository: { dir: path.resolve(repository) },
    provisioning: { modes: ['device-key'] },
    logs: { retention: '30d', keepPerDevice: 1000, pruneInterval: '1h' },
    logLevel: 'info',
  };
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  note(io, `wrote ${file}`);
}

async function init(args: ParsedArgs, io: Io): Promise<number> {
  const file = configPath(args, io);
  await ensureConfig(file, args, io);
  const config = await loadFleetConfig(file, io.env, overrides(args));
  const adminId = stringOption(args, 'admin') ?? 'admin';
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(adminId)) {
    throw new UsageError('--admin must be 1-128 of A-Z a-z 0-9 . _ : @ -');
  }
  const result = await initFleetServer({
    config,
    openStore: () => openConfiguredStore(config),
    env: io.env,
    admin: { userId: adminId, name: adminId },
    tokenDays: integerOption(args, 'token-days', 1, 365) ?? 30,
  });
  if (!result.keysEncrypted) {
    warn(
      io,
      `the director keys in ${config.directorKeysDir} are not encrypted (set $TUFOTA_SERVER_KEY_PASSWORD before init to encrypt them); keep the data directory readable by the server's user only`,
    );
  }
  printResult(io, { ...result, dataDir: config.dataDir, config: config.configFile }, () =>
    [
      `initialized ${config.dataDir} (schema version ${result.schemaVersion})`,
      `admin user: ${result.adminUserId}`,
      `admin API token (shown once, expires ${result.tokenExpiresAt}):`,
      result.token,
    ].join('\n'),
  );
  return 0;
}

async function start(args: ParsedArgs, io: Io): Promise<number> {
  const config = await loadFleetConfig(configPath(args, io), io.env, overrides(args));
  let unsafeSharedKey: Uint8Array | undefined;
  const sharedFile = stringOption(args, 'unsafe-shared-key');
  if (sharedFile !== undefined) {
    unsafeSharedKey = new Uint8Array(await fs.readFile(sharedFile));
    if (unsafeSharedKey.byteLength < 32) {
      throw new UsageError(`${sharedFile} must hold at least 32 bytes of secret`);
    }
    config.provisioningModes = [...config.provisioningModes, 'shared-key'];
    warn(io, 'UNSAFE: shared fleet key enabled; anyone holding it can register devices');
  }
  const store = await openConfiguredStore(config);
  await store.migrate();
  const server = await startFleetServer({
    config,
    store,
    env: io.env,
    ...(unsafeSharedKey !== undefined ? { unsafeSharedKey } : {}),
  });
  note(io, `fleet server at ${server.url}; press Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

async function ca(args: ParsedArgs, io: Io): Promise<number> {
  const action = args.positionals[1];
  if (action !== 'init' && action !== 'issue')
    throw unknownSubcommand('server ca', action, ['init', 'issue']);
  const config = await loadFleetConfig(configPath(args, io), io.env);
  const days = integerOption(args, 'days', 1, 36500);
  const withDays = days !== undefined ? { days } : {};
  if (action === 'init') {
    const files = await initDeviceCa(config.caDir, {
      ...withDays,
      ...(stringOption(args, 'name') !== undefined ? { name: stringOption(args, 'name') } : {}),
    });
    printResult(
      io,
      files,
      `device CA: ${files.cert} (key ${files.key}, keep it offline if you can)`,
    );
    return 0;
  }
  const device = stringOption(args, 'device');
  const server = stringOption(args, 'server');
  if ((device === undefined) === (server === undefined)) {
    throw new UsageError(
      'server ca issue needs exactly one of --device ID or --server HOST[,HOST…]',
    );
  }
  const out = path.resolve(
    stringOption(args, 'out') ?? (device !== undefined ? '.' : path.join(config.dataDir, 'tls')),
  );
  const files =
    device !== undefined
      ? await issueDeviceCertificate(config.caDir, device, out, withDays)
      : await issueServerCertificate(config.caDir, (server as string).split(','), out, withDays);
  printResult(io, files, `certificate ${files.cert}, key ${files.key}`);
  return 0;
}

export const serverCommand: Command = {
  name: 'server',
  summary: 'run the fleet server: devices, director, admin API (init, start, ca)',
  usage: 'tufota server init|start|ca init|ca issue --config FILE [options]',
  description: [
    'init      create the data directory, database, director keys and the first admin; prints',
    '          the admin API token once. Writes FILE first if it does not exist (needs --repository).',
    'start     serve /repo/, /director/, the device API and the admin API until interrupted;',
    '          logs one JSON line per request on stdout. Listens on 127.0.0.1 unless configured.',
    'ca init   create the device CA for mutual TLS (DATA/ca/ca.key, ca.crt) with openssl.',
    "ca issue  --device ID: a device key + certificate (CN=ID); --server HOST,…: the server's",
    '          TLS certificate and key (into DATA/tls unless --out).',
    '',
    CONFIG_HELP,
    '',
    'docs/fleet-server.md is the operator guide; docs/fleet-server-api.md the HTTP contract.',
  ].join('\n'),
  options: {
    config: {
      type: 'string',
      short: 'c',
      valueName: 'FILE',
      description: 'server configuration file (default $TUFOTA_SERVER_CONFIG)',
    },
    repository: {
      type: 'string',
      valueName: 'DIR',
      description: 'init: the image repository to serve, when FILE is created',
    },
    admin: {
      type: 'string',
      valueName: 'ID',
      description: 'init: user id of the first admin (default admin)',
    },
    'token-days': {
      type: 'string',
      valueName: 'N',
      description: 'init: days the admin token is valid (default 30)',
    },
    host: {
      type: 'string',
      valueName: 'HOST',
      description: 'start: interface to listen on (overrides the config)',
    },
    port: {
      type: 'string',
      short: 'p',
      valueName: 'N',
      description: 'start: TCP port (overrides the config)',
    },
    'log-level': {
      type: 'string',
      valueName: 'LEVEL',
      description: `start: ${LOG_LEVELS.join('|')} (overrides the config)`,
    },
    'unsafe-shared-key': {
      type: 'string',
      valueName: 'FILE',
      description:
        'start: accept registrations signed with this shared fleet secret (air-gapped fleets only; UNSAFE)',
    },
    device: {
      type: 'string',
      valueName: 'ID',
      description: 'ca issue: the device id (certificate CN)',
    },
    server: {
      type: 'string',
      valueName: 'HOST[,HOST]',
      description: "ca issue: the server's host names or IP addresses",
    },
    out: {
      type: 'string',
      valueName: 'DIR',
      description: 'ca issue: where to write the key and certificate',
    },
    name: {
      type: 'string',
      valueName: 'NAME',
      description: "ca init: the CA certificate's common name",
    },
    days: {
      type: 'string',
      valueName: 'N',
      description: 'ca: validity in days (CA 3650, certificates 825)',
    },
  },
  positionals: { min: 1, max: 2 },
  subcommands: ['init', 'start', 'ca'],
  async run(args, io) {
    const sub = args.positionals[0];
    if (sub !== 'ca' && args.positionals.length > 1) {
      throw new UsageError(`tufota server ${sub} takes no further arguments`);
    }
    if (sub === 'init') return init(args, io);
    if (sub === 'start') return start(args, io);
    return ca(args, io);
  },
};
