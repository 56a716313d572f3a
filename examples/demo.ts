/**
 * `npm run demo`: tufota's whole job on one machine, in well under a minute.
 *
 * A TUF repository is created in a temporary directory and a first release published; an HTTP
 * server serves it on 127.0.0.1; a simulated device with two file-backed A/B slots, a
 * Mender-style boot environment and a simulated bootloader runs the real update agent (the TUF
 * `Updater` over HTTP, the journal, the health checks) through five scenarios — a successful
 * update, a release that fails its health check and is rolled back, a tampered image, an image
 * for other hardware, and a power cut mid-write — narrating each step. It ends with a summary
 * table and exits 0 only if every scenario had its expected outcome.
 *
 * Run: `node dist/examples/demo.js` (after `npm install`, which builds `dist/`). Executed by the
 * test suite (`spec/examples/demo.spec.ts`). Everything it creates is removed at the end.
 *
 * @module
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createStaticServer } from 'tufota/server';
import { AgentSteps, subscribeAgentSteps } from './demo/agent-steps.js';
import {
  bootAndResume,
  codeOf,
  type DemoContext,
  describeDevice,
  publishRelease,
} from './demo/context.js';
import { deviceLayout, HARDWARE_ID, provisionDevice } from './demo/device.js';
import { DEFAULT_IMAGE_SIZE } from './demo/firmware.js';
import { Narrator, type SummaryRow } from './demo/output.js';
import { DemoRepository } from './demo/release-repo.js';
import { judge, SCENARIOS } from './demo/scenarios.js';

async function main(): Promise<boolean> {
  const started = performance.now();
  const say = new Narrator(process.stdout);
  const dir = await mkdtemp(path.join(tmpdir(), 'tufota-demo-'));
  // Ctrl-C: leave nothing behind.
  const onInterrupt = (): void => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const steps = new AgentSteps(say);
  const unsubscribe = subscribeAgentSteps((event) => steps.onStep(event));
  let ctx: DemoContext | undefined;
  try {
    say.title(
      'tufota demo: a signed update repository, an update server and a simulated A/B device',
      `scratch directory ${dir} (removed at the end)`,
    );

    say.heading('Setup');
    const repo = await DemoRepository.create(path.join(dir, 'repository'));
    say.step(
      'repository',
      'created: root, targets, snapshot and timestamp metadata signed (one ed25519 key in this demo)',
    );
    const server = await createStaticServer({ root: repo.dir });
    ctx = {
      say,
      steps,
      repo,
      server,
      device: deviceLayout(path.join(dir, 'device')),
      current: undefined,
      imageSize: DEFAULT_IMAGE_SIZE,
    };
    const first = await publishRelease(ctx, { version: '1.0.0', releaseCounter: 1 });
    say.step('server', `${server.url} serves the repository's metadata/ and targets/`);
    await provisionDevice(ctx.device, first.image, repo.rootBytes());
    say.step(
      'factory',
      `device "${HARDWARE_ID}": slot A ← firmware 1.0.0, slot B empty, boot env boot_part=A, trusted root.json installed`,
    );
    say.step('power', '⏻ first power-on');
    await bootAndResume(ctx);
    await describeDevice(ctx);

    const rows: SummaryRow[] = [];
    for (const [index, scenario] of SCENARIOS.entries()) {
      say.heading(`${index + 1}/${SCENARIOS.length}  ${scenario.title}`);
      steps.reset();
      let outcome: string;
      const problems: string[] = [];
      try {
        const result = await scenario.run(ctx);
        outcome = result.outcome;
        problems.push(...result.problems);
      } catch (error) {
        outcome = `error ${codeOf(error)}`;
        problems.push((error as Error).message);
        say.endProgress();
      }
      const view = await describeDevice(ctx);
      const row = judge(scenario, { outcome, problems }, view);
      const detail = row.ok ? `as expected: ${outcome}` : `${outcome}: ${row.problems.join('; ')}`;
      say.verdict(row.ok, detail);
      rows.push({ ...row, scenario: `${index + 1}. ${row.scenario}` });
    }

    say.summary(rows);
    const failed = rows.filter((r) => !r.ok).length;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say.finalLine(
      failed === 0,
      failed === 0
        ? `All ${rows.length} scenarios ended as expected (${seconds} s).`
        : `${failed} of ${rows.length} scenarios did NOT end as expected (${seconds} s).`,
    );
    return failed === 0;
  } finally {
    unsubscribe();
    await ctx?.current?.close();
    await ctx?.server.close();
    await rm(dir, { recursive: true, force: true });
    process.off('SIGINT', onInterrupt);
  }
}

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1;
  },
  (error: unknown) => {
    process.stderr.write(
      `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
