/**
 * `npm run demo` is the README's main-job command: it must run from its compiled form
 * (`node dist/examples/demo.js`), exit 0, and its summary must report every scenario's expected
 * outcome — and what it narrates must be what the device did. Also: the verdict logic fails a
 * scenario on any mismatch, and the narration stays plain text off a terminal.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Narrator, type Sink } from '../../examples/demo/output.js';
import { judge, SCENARIOS } from '../../examples/demo/scenarios.js';
import { buildOnce, ROOT } from '../cli/helpers.js';

const DEMO = path.join(ROOT, 'dist', 'examples', 'demo.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runDemo(): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DEMO],
      { cwd: ROOT, env: { PATH: process.env.PATH }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm run demo', () => {
  let run: Run;
  beforeAll(async () => {
    await buildOnce();
    expect(existsSync(DEMO), `${DEMO} must exist (npm run build)`).toBe(true);
    run = await runDemo();
  }, 240_000);

  it('exits 0 with nothing on stderr', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it.each([
    ['1. successful update', 'committed', 'committed', 'B', '1.1.0'],
    ['2. health check fails', 'rolled back', 'rolled back', 'B', '1.1.0'],
    ['3. tampered image', 'refused (hash)', 'refused (hash)', 'B', '1.1.0'],
    ['4. other hardware', 'refused (hardware)', 'refused (hardware)', 'B', '1.1.0'],
    ['5. power cut mid-write', 'resumed, committed', 'resumed, committed', 'A', '1.4.0'],
  ])('the summary reports %s as expected', (scenario, expected, outcome, booted, installed) => {
    const summary = run.stdout.slice(run.stdout.indexOf('▸ Summary'));
    const row = summary.split('\n').find((line) => line.trim().startsWith(scenario));
    expect(row, `no summary row for ${scenario}`).toBeDefined();
    expect(row?.trim().split(/\s{2,}/)).toEqual([
      scenario,
      expected,
      outcome,
      booted,
      installed,
      '✓',
    ]);
  });

  it('ends with the all-clear line and no ✗ anywhere', () => {
    expect(run.stdout).toMatch(/All 5 scenarios ended as expected \(\d+\.\d s\)\.\n$/);
    expect(run.stdout).not.toContain('✗');
  });

  it('narrates what the device really did in each scenario', () => {
    const out = run.stdout;
    // 2: the new slot booted for its trial, failed its check, and the bootloader fell back.
    expect(out).toContain('demo-app 1.2.0 started in slot A and exited with status 1');
    expect(out).toContain('slot A rejected: the next boot falls back to the other slot');
    // 3 and 4: refused with the stable error codes.
    expect(out).toContain('refused: ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(out).toContain('refused: ERR_TUF_INCOMPATIBLE_TARGET');
    expect(out).toContain(
      'nothing downloaded; both slots and the boot environment are byte-for-byte unchanged',
    );
    // 5: killed mid-write, then resumed from a checkpoint rather than started over.
    expect(out).toMatch(/power cut: agent process SIGKILLed with [\d.]+ MiB of [\d.]+ MiB written/);
    expect(out).toMatch(/journal: phase "writing", [1-9][\d.]* MiB durable/);
    expect(out).toMatch(/download resumes at byte [1-9][\d,]* \(HTTP Range\)/);
  });

  it('prints plain lines off a terminal and removes its scratch directory', () => {
    expect(run.stdout).not.toMatch(/[\r\x1b]/);
    const scratch = /scratch directory (\S+) \(removed at the end\)/.exec(run.stdout)?.[1];
    expect(scratch).toBeDefined();
    expect(existsSync(scratch as string)).toBe(false);
  });
});

describe('judge', () => {
  const scenario = SCENARIOS[0]!;
  const good = { booted: scenario.expected.booted, installed: scenario.expected.installed };

  it('passes only the expected outcome, slot and version with no broken claim', () => {
    expect(judge(scenario, { outcome: scenario.expected.outcome, problems: [] }, good).ok).toBe(
      true,
    );
    const cases = [
      [{ outcome: 'rolled back', problems: [] }, good, 'expected committed'],
      [{ outcome: 'committed', problems: ['slot B does not hold it'] }, good, 'slot B does not'],
      [{ outcome: 'committed', problems: [] }, { ...good, booted: 'A' }, 'booted slot should be B'],
      [{ outcome: 'committed', problems: [] }, { ...good, installed: '1.0.0' }, 'installed'],
    ] as const;
    for (const [result, view, problem] of cases) {
      const row = judge(scenario, { ...result, problems: [...result.problems] }, view);
      expect(row.ok).toBe(false);
      expect(row.problems.join('; ')).toContain(problem);
    }
  });
});

describe('Narrator', () => {
  function sink(isTTY: boolean): Sink & { text: string } {
    const out = {
      text: '',
      isTTY,
      write(chunk: string) {
        out.text += chunk;
      },
    };
    return out;
  }

  it('draws a write as four static lines off a terminal, and redraws one line on it', () => {
    for (const tty of [false, true]) {
      const out = sink(tty);
      const say = new Narrator(out, { color: false });
      say.startProgress('write B', 1000);
      for (let done = 100; done <= 1000; done += 100) say.progress(done);
      say.step('agent', 'done');
      if (tty) {
        expect(out.text.match(/\r\x1b\[K/g)?.length).toBe(11);
        expect(out.text.split('\n')).toHaveLength(3); // the bar's line, the step, the end
      } else {
        expect(out.text).not.toMatch(/[\r\x1b]/);
        const bars = out.text.split('\n').filter((l) => l.includes('write B'));
        expect(bars.map((l) => /(\d+)%/.exec(l)?.[1])).toEqual(['30', '50', '80', '100']);
      }
    }
  });

  it('marks failed rows ✗ in the summary', () => {
    const out = sink(false);
    new Narrator(out).summary([
      { scenario: 'a', expected: 'x', outcome: 'x', booted: 'A', installed: '1', ok: true },
      { scenario: 'b', expected: 'x', outcome: 'y', booted: 'B', installed: '1', ok: false },
    ]);
    const lines = out.text.trim().split('\n');
    expect(lines.at(-2)).toMatch(/^ {2}a .*✓$/);
    expect(lines.at(-1)).toMatch(/^ {2}b .*✗$/);
  });
});
