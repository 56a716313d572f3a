import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../src/cli/args.js';
import { bundleCommand } from '../../src/cli/commands/bundle.js';
import type { Io } from '../../src/cli/io.js';
import { BundleFetcher } from '../../src/transport/bundle-fetcher.js';
import { APP, FIRMWARE, makeRepository, removeDir, tempDir } from './helpers.js';

function testIo(cwd: string, json: boolean): Io & { out(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  stderr.resume();
  return { stdout, stderr, stdin: new PassThrough(), env: {}, cwd, json, out: () => text };
}

let dir: string;
beforeEach(async () => {
  dir = await tempDir('tufota-cli-bundle-');
});
afterEach(async () => {
  await removeDir(dir);
});

describe('tufota bundle create', () => {
  it('writes a bundle the BundleFetcher opens, and prints a JSON summary', async () => {
    // The repository's metadata is dated 2030 (T0); the command checks it against the clock.
    await makeRepository(path.join(dir, 'repo'));
    const argv = [
      'create',
      '--repo',
      'repo',
      '-t',
      FIRMWARE,
      '--target',
      APP,
      '-o',
      'out.tar',
      '--from-root-version',
      '2',
    ];
    const args = parseCommandArgs(bundleCommand, argv);
    const io = testIo(dir, true);
    expect(await bundleCommand.run(args, io)).toBe(0);
    const summary = JSON.parse(io.out()) as {
      output: string;
      rootVersions: unknown;
      targets: unknown[];
    };
    expect(summary.output).toBe(path.join(dir, 'out.tar'));
    expect(summary.rootVersions).toEqual({ from: 2, to: 3 });
    expect(summary.targets).toHaveLength(2);
    const fetcher = await BundleFetcher.create({ path: summary.output });
    try {
      expect(fetcher.names).toContain('metadata/3.root.json');
      expect(fetcher.names).not.toContain('metadata/1.root.json');
    } finally {
      await fetcher.close();
    }
  });

  it('refuses a wrong subcommand, no target or no output with a usage error', async () => {
    const io = testIo(dir, false);
    for (const argv of [
      ['make', '-t', 'x', '-o', 'o'],
      ['create', '-o', 'o'],
      ['create', '-t', 'x'],
    ]) {
      // The subcommand is checked while parsing, the options when the command runs.
      await expect(
        (async () => bundleCommand.run(parseCommandArgs(bundleCommand, argv), io))(),
      ).rejects.toMatchObject({
        code: 'ERR_TUF_USAGE',
      });
    }
  });
});
