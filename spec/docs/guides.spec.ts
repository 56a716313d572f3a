/**
 * The guides' shell examples are run, not just read: every ```sh block of docs/admin-guide.md
 * and docs/integrator-guide.md runs in order, in one sandbox per guide, with `tufota` on PATH
 * (the compiled CLI), and must exit 0.
 *
 * Conventions in the markdown, all visible in its source:
 * - `<!-- not-run: REASON -->` right before a block skips it (hardware, root, a remote host); the
 *   reason is printed.
 * - `<!-- setup: COMMANDS -->` right before a block runs COMMANDS first: what the reader's
 *   machine provides and the guide does not show (a built image, CI variables).
 * - `# prints: TEXT` (a line of its own or after a command) asserts the block's output contains
 *   TEXT; `…` in TEXT matches anything.
 * - Absolute paths under /srv, /media, /secure and /var are placed inside the sandbox.
 * Exported variables and the working directory carry over from one block to the next, as in a
 * shell session.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, CLI, PASSWORD, ROOT, removeDir, tempDir } from '../cli/helpers.js';

/** One fenced shell block and what the markdown says about it. */
export interface GuideBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  notRun: string | undefined;
  setup: string | undefined;
  /** Texts the output must contain (`# prints:`). */
  prints: string[];
}

/** The ```sh blocks of `markdown`, with their markers. */
export function shellBlocks(markdown: string): GuideBlock[] {
  const lines = markdown.split('\n');
  const blocks: GuideBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i] !== '```sh') continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== '```'; i += 1) body.push(lines[i] as string);
    // Markers sit on the lines just above the fence (blank lines between are allowed).
    let notRun: string | undefined;
    let setup: string | undefined;
    for (let j = start - 1; j >= 0; j -= 1) {
      const line = (lines[j] as string).trim();
      if (line === '') continue;
      const marker = /^<!-- (not-run|setup): ([\s\S]*?) -->$/.exec(line);
      if (marker === null) break;
      if (marker[1] === 'not-run') notRun = marker[2];
      else setup = marker[2];
    }
    const code = body.join('\n');
    const prints = [...code.matchAll(/#\s*prints:\s*(.+)$/gm)].map((m) => (m[1] as string).trim());
    blocks.push({ line: start + 1, code, notRun, setup, prints });
  }
  return blocks;
}

/** Whether `output` contains `text`, where `…` in `text` matches anything. */
export function containsPrinted(output: string, text: string): boolean {
  const pattern = text
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*?');
  return new RegExp(pattern).test(output);
}

const SANDBOXED = /(^|[\s='"(:])\/(srv|media|secure|var)\//g;

function run(script: string, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script],
      { cwd, env: { PATH: process.env.PATH, HOME: cwd }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

for (const guide of ['docs/admin-guide.md', 'docs/integrator-guide.md']) {
  describe(`${guide}: every shell block runs`, async () => {
    const blocks = shellBlocks(await readFile(path.join(ROOT, guide), 'utf8'));
    let sandbox: string;
    let home: string;
    let state: string;

    beforeAll(async () => {
      await buildOnce();
      sandbox = await tempDir('tufota-guide-');
      home = path.join(sandbox, 'home');
      state = path.join(sandbox, '.state');
      const bin = path.join(sandbox, 'bin');
      for (const dir of [home, state, bin]) await mkdir(dir, { recursive: true });
      for (const dir of ['srv', 'media', 'secure', 'var']) {
        await mkdir(path.join(sandbox, dir), { recursive: true });
      }
      await writeFile(
        path.join(bin, 'tufota'),
        `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`,
      );
      await chmod(path.join(bin, 'tufota'), 0o755);
      // The session's starting point: tufota on PATH, a key password, in the home directory.
      await writeFile(
        path.join(state, 'env.sh'),
        `export PATH=${JSON.stringify(`${bin}:${process.env.PATH}`)}\nexport TUFOTA_KEY_PASSWORD=${JSON.stringify(PASSWORD)}\nexport SANDBOX=${JSON.stringify(sandbox)}\n`,
      );
      await writeFile(path.join(state, 'cwd'), home);
    });
    afterAll(async () => removeDir(sandbox));

    it('has shell blocks', () => {
      expect(blocks.length).toBeGreaterThan(0);
    });

    for (const block of blocks) {
      const title = `line ${block.line}: ${block.code.split('\n')[0]}`;
      if (block.notRun !== undefined) {
        it.skip(`${title} (not run: ${block.notRun})`, () => {});
        continue;
      }
      it(title, async () => {
        const sandboxed = (text: string) => text.replace(SANDBOXED, `$1${sandbox}/$2/`);
        const cwd = (await readFile(path.join(state, 'cwd'), 'utf8')).trim();
        const script = [
          `. ${JSON.stringify(path.join(state, 'env.sh'))}`,
          'set -eo pipefail',
          ...(block.setup === undefined ? [] : [sandboxed(block.setup)]),
          sandboxed(block.code),
          `export -p > ${JSON.stringify(path.join(state, 'env.sh'))}`,
          `pwd > ${JSON.stringify(path.join(state, 'cwd'))}`,
        ].join('\n');
        const { code, output } = await run(script, cwd);
        expect(code, `${guide} line ${block.line} failed:\n${output}`).toBe(0);
        for (const text of block.prints) {
          expect(containsPrinted(output, text), `expected "${text}" in:\n${output}`).toBe(true);
        }
      }, 120_000);
    }
  });
}
