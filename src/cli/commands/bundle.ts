/**
 * `tufota bundle create`: pack the repository's trusted metadata chain and chosen targets into
 * one tar file for offline installs (USB stick, SD card). The device installs it through
 * `BundleFetcher` with the same verification as online.
 *
 * Checks the repository the way a device will (root chain, signatures, expiry now) before
 * writing; the output appears complete or not at all. Needs no keys.
 *
 * @module
 */

import * as path from 'node:path';
import { createBundle } from '../../bundle/index.js';
import { UsageError } from '../../errors.js';
import {
  type Command,
  integerOption,
  listOption,
  stringOption,
  unknownSubcommand,
} from '../args.js';
import { formatBytes, note, printResult } from '../io.js';
import { repoDirOf } from '../session.js';

/**
 * The `bundle` command.
 *
 * @example
 * ```sh
 * tufota bundle create --repo /srv/tuf --target firmware/board-a/1.2.0.img -o /media/usb/update.tar
 * ```
 */
export const bundleCommand: Command = {
  name: 'bundle',
  summary: 'pack metadata and targets into one file for offline installs (USB/SD)',
  usage: 'tufota bundle create --target PATH [--target PATH …] [--from-root-version N] -o FILE',
  description: [
    'Writes a tar file holding every root from --from-root-version (default 1) to the newest, so a',
    'device with an old root can rotate, plus timestamp, snapshot, all targets roles, and the named',
    'targets under their served names. The repository is verified as a device would verify it (expiry',
    'included) before anything is written. The bundle manifest is informational; devices trust only',
    'the signed metadata. Install with BundleFetcher (metadataBaseUrl "metadata/", targetBaseUrl "targets/").',
  ].join('\n'),
  options: {
    target: {
      type: 'string',
      short: 't',
      multiple: true,
      valueName: 'PATH',
      description: 'target path to include, as listed in the metadata (repeatable, at least one)',
    },
    'from-root-version': {
      type: 'string',
      valueName: 'N',
      description: 'oldest root version devices may still trust (default 1)',
    },
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'bundle file to write' },
    name: {
      type: 'string',
      valueName: 'TEXT',
      description: 'repository name shown in the manifest (default: the directory name)',
    },
  },
  positionals: { min: 1, max: 1 },
  subcommands: ['create'],
  async run(args, io) {
    if (args.positionals[0] !== 'create') {
      throw unknownSubcommand('bundle', args.positionals[0], ['create']);
    }
    const targets = listOption(args, 'target');
    if (targets.length === 0)
      throw new UsageError('bundle create needs at least one --target PATH');
    const output = stringOption(args, 'output');
    if (output === undefined) throw new UsageError('bundle create needs -o FILE');
    const repositoryDir = repoDirOf(args, io);
    const fromRootVersion = integerOption(args, 'from-root-version', 1);
    const name = stringOption(args, 'name');
    const summary = await createBundle({
      repositoryDir,
      targets,
      output: path.resolve(io.cwd, output),
      ...(fromRootVersion === undefined ? {} : { fromRootVersion }),
      ...(name === undefined ? {} : { repositoryName: name }),
    });
    printResult(
      io,
      {
        output: summary.output,
        size: summary.size,
        rootVersions: summary.rootVersions,
        expires: summary.expires.toISOString(),
        metadata: summary.metadata,
        targets: summary.targets,
      },
      () =>
        [
          `wrote ${summary.output} (${formatBytes(summary.size)})`,
          `  roots ${summary.rootVersions.from}..${summary.rootVersions.to}, ${summary.metadata.length} metadata files`,
          ...summary.targets.map((t) => `  ${t.path} (${formatBytes(t.length)})`),
          `  valid until ${summary.expires.toISOString()} (devices with the strict clock policy refuse it after)`,
        ].join('\n'),
    );
    note(io, 'the bundle manifest is informational; devices verify the signed metadata only');
    return 0;
  },
};
