/**
 * Errors speak the CLI's language: "did you mean" for mistyped commands, subcommands and
 * options; clean messages for option mistakes; a damaged key file is not called a wrong
 * password; no library method names reach a CLI user; and each hint fits its error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/index.js';
import { buildOnce, ok, ROOT, removeDir, tempDir, treeHash, tufota } from './helpers.js';

let work: string;
let repo: string;

beforeAll(async () => {
  await buildOnce();
  work = await tempDir('tufota-cli-messages-');
  repo = path.join(work, 'repo');
  await ok(['init', 'repo', '--keys-dir', 'keys'], work);
});
afterAll(async () => removeDir(work));

/** Run, expect a usage error (exit 2), and return the `error:` and `hint:` lines. */
async function usage(args: string[]): Promise<{ error: string; hint: string }> {
  const result = await tufota(args, { cwd: repo });
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const error = /^error: (.*)$/m.exec(result.stderr)?.[1] ?? '';
  const hint = /^hint: (.*)$/m.exec(result.stderr)?.[1] ?? '';
  return { error, hint };
}

describe('unknown commands and subcommands', () => {
  it.each([
    [['pubish'], 'unknown command "pubish"; did you mean publish?'],
    [['stat'], 'unknown command "stat"; did you mean status?'],
    [['help', 'add-traget'], 'unknown command "add-traget"; did you mean add-target?'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('tufota %j', async (args, message) => {
    const { error, hint } = await usage(args);
    expect(error).toBe(message);
    expect(hint).toBe('run tufota help for the list of commands');
  });

  it('an option before the command is explained, not called a command', async () => {
    const { error, hint } = await usage(['--repo', '.', 'status']);
    expect(error).toBe('unknown option --repo before the command');
    expect(hint).toMatch(/^options go after the command: tufota COMMAND --repo/);
  });

  it.each([
    [
      ['key', 'gen', 'x.pem'],
      `unknown subcommand "gen" for 'tufota key'; did you mean key generate?`,
    ],
    [['bins', 'crate'], `unknown subcommand "crate" for 'tufota bins'; did you mean bins create?`],
    [['config', 'sho'], `unknown subcommand "sho" for 'tufota config'; did you mean config show?`],
    [['bundle', 'make'], `unknown subcommand "make" for 'tufota bundle'; use create`],
    [['key'], 'tufota key needs a subcommand: generate, list, show, add or remove'],
  ])('tufota %j', async (args, message) => {
    const { error, hint } = await usage(args);
    expect(error).toBe(message);
    expect(hint).toBe(`see tufota ${args[0]} --help`);
  });
});

describe('option mistakes', () => {
  it.each([
    [['add-target', '--foo'], `unknown option --foo for 'tufota add-target'`],
    [
      ['add-target', '--hardware', 'x'],
      `unknown option --hardware for 'tufota add-target'; did you mean --hardware-id?`,
    ],
    [['serve', '--port'], `option --port of 'tufota serve' needs a value: --port N`],
    [['status', '--json=yes'], `option --json of 'tufota status' takes no value`],
  ])('tufota %j', async (args, message) => {
    const { error, hint } = await usage(args);
    expect(error).toBe(message);
    expect(hint).toMatch(new RegExp(`^see tufota ${args[0]} --help`));
    expect(error).not.toMatch(/To specify a positional|<value>/); // node:util's wording is gone
  });

  it('a missing value swallowed by the next option says so', async () => {
    const { error, hint } = await usage(['add-target', 'fw.img', '--path', '--publish']);
    expect(error).toBe(
      `option --path of 'tufota add-target' needs a value, but "--publish" follows it`,
    );
    expect(hint).toContain('--path=--publish');
  });

  it('the JSON form carries the hint', async () => {
    const result = await tufota(['add-target', '--hardware', 'x', '--json'], { cwd: repo });
    const { error } = JSON.parse(result.stderr);
    expect(error.code).toBe('ERR_TUF_USAGE');
    expect(error.message).toContain('did you mean --hardware-id?');
    expect(error.hint).toBe('see tufota add-target --help for its options');
  });
});

describe('key files: damage is not a wrong password', () => {
  let pem: string;
  beforeAll(async () => {
    await ok(['key', 'generate', 'k.pem'], work);
    pem = await readFile(path.join(work, 'k.pem'), 'utf8');
    await writeFile(path.join(work, 'truncated.pem'), pem.slice(0, Math.floor(pem.length / 2)));
    const lines = pem.split('\n');
    await writeFile(
      path.join(work, 'altered.pem'),
      [...lines.slice(0, 2), ...lines.slice(3)].join('\n'),
    );
  });

  async function keyError(file: string, env: Record<string, string | undefined> = {}) {
    const result = await tufota(['key', 'add', path.join(work, file)], { cwd: repo, env });
    expect(result.code, result.stderr).toBe(1);
    return {
      error: /^error: (.*)$/m.exec(result.stderr)?.[1] ?? '',
      hint: /^hint: (.*)$/m.exec(result.stderr)?.[1] ?? '',
    };
  }

  it.each(['truncated.pem', 'altered.pem'])(
    '%s: damaged, with the right password and with none',
    async (file) => {
      for (const env of [{}, { TUFOTA_KEY_PASSWORD: undefined }]) {
        const { error, hint } = await keyError(file, env);
        expect(error).toMatch(new RegExp(`key file .*${file} is damaged`));
        expect(error).not.toMatch(/password/);
        expect(hint).toMatch(/damaged .*which no password fixes/);
      }
    },
  );

  it('a wrong password is called one, naming where it came from', async () => {
    const { error, hint } = await keyError('k.pem', { TUFOTA_KEY_PASSWORD: 'not it' });
    expect(error).toMatch(
      /^wrong password for key file .*k\.pem: the password in \$TUFOTA_KEY_PASSWORD does not decrypt it$/,
    );
    expect(hint).toMatch(/right password/);
  });

  it('no password at all says where one can come from, in CLI terms', async () => {
    const { error, hint } = await keyError('k.pem', { TUFOTA_KEY_PASSWORD: undefined });
    expect(error).toContain('$TUFOTA_KEY_PASSWORD is not set and stdin is not a terminal');
    expect(error).not.toMatch(/pass a (prompt|password)/);
    expect(hint).toMatch(/--password-env/);
  });
});

describe('no library method names in what a CLI user reads', () => {
  it('an unsigned delegation published with --publish says how to sign it, in commands', async () => {
    await ok(['key', 'generate', path.join(work, 'vendor.pem')], work);
    const result = await tufota(
      ['delegate', 'vendor', '--paths', 'vendor/*', '--add-key', '../vendor.pub.json', '--publish'],
      { cwd: repo },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: vendor version 1 has 0 valid signature/m);
    expect(result.stderr).not.toMatch(/addSignature|signers to the repository/);
    expect(result.stderr).toMatch(
      /^hint: nothing was published or staged: run tufota delegate again without --publish/m,
    );
    expect(result.stderr).toContain('tufota prepare ROLE --out DIR');
  });

  it('bins create on a delegator with bins points at tufota bins resize', async () => {
    await ok(['key', 'generate', path.join(work, 'bins.pem')], work);
    await ok(
      ['bins', 'create', '--bit-length', '2', '--add-key', '../bins.pem', '--publish'],
      repo,
    );
    const before = await treeHash(repo);
    const result = await tufota(
      ['bins', 'create', '--bit-length', '3', '--add-key', '../bins.pem'],
      {
        cwd: repo,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/resizeHashBins|createHashBins/);
    expect(result.stderr).toMatch(/^hint: .*tufota bins resize --bit-length N/m);
    expect(await treeHash(repo)).toBe(before);
  });

  it('prepare of an online role names no method', async () => {
    const result = await tufota(['prepare', 'snapshot', '--out', work], { cwd: repo });
    expect(result.code).not.toBe(0);
    expect(result.stderr).not.toMatch(/publish\(\)|prepare\(\)/);
  });

  it('no message the repository, signers or CLI throw names a Repository method', () => {
    // Method names with a capital inside (addSignature, resizeHashBins): CLI commands are
    // lower-case words, so these can only be API names.
    const methods = Object.getOwnPropertyNames(Repository.prototype).filter((n) =>
      /^[a-z]+[A-Z]/.test(n),
    );
    expect(methods).toContain('resizeHashBins');
    const offenders: string[] = [];
    for (const dir of ['src/repository', 'src/signers', 'src/cli', 'src/server']) {
      for (const file of readdirSync(path.join(ROOT, dir), { recursive: true })) {
        if (!String(file).endsWith('.ts')) continue;
        const text = readFileSync(path.join(ROOT, dir, String(file)), 'utf8');
        for (const [statement] of text.matchAll(/throw new \w+\(([\s\S]*?)\);/g)) {
          const strings = statement.match(/'[^']*'|`[^`]*`/g) ?? [];
          for (const literal of strings) {
            const s = literal.replace(/\$\{[^}]*\}/g, ''); // interpolated code is not text
            const named = methods.find((m) => new RegExp(`\\b${m}\\b|\\b\\w+\\(\\)`).test(s));
            if (named !== undefined) offenders.push(`${dir}/${String(file)}: ${literal}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
