/**
 * The demo's five scenarios, in the order they run on one device (each starts where the last
 * left it):
 *
 * 1. a successful update: written to the inactive slot, booted for a trial, health checks pass,
 *    committed;
 * 2. a release whose application crashes: health checks fail on the trial boot, the agent
 *    rejects the slot and the bootloader falls back to the previous one;
 * 3. a tampered image (changed on the server after it was signed): refused before activation;
 * 4. an image for other hardware: refused before a single byte is downloaded;
 * 5. a power cut mid-write: the agent process is SIGKILLed, the device boots the old slot, and
 *    the agent's `resume()` on that boot continues the write from its last durable checkpoint and
 *    commits.
 *
 * Each scenario returns what happened in words for the summary, plus any claim the narration
 * makes that turned out false (so a ✓ means the demo's story is what the device really did).
 *
 * @module
 */
import type { SlotName } from 'tufota/device';
import { FsJournalStore } from 'tufota/device';
import {
  bootAndResume,
  codeOf,
  type DemoContext,
  fileSha256,
  followReboots,
  publishRelease,
  sha256,
  shortenHashes,
} from './context.js';
import type { DeviceView } from './device.js';
import { formatBytes, type SummaryRow } from './output.js';
import { runAgentUntilPowerCut } from './power-cut.js';

/** What a scenario run came to. */
export interface ScenarioResult {
  /** The outcome in a few words (compared with {@link Scenario.expected}). */
  outcome: string;
  /** Claims of the narration that did not hold. */
  problems: string[];
}

/** One scenario. */
export interface Scenario {
  /** Heading. */
  title: string;
  /** Short name for the summary table. */
  name: string;
  /** The outcome, booted slot and installed version the scenario must end with. */
  expected: { outcome: string; booted: SlotName; installed: string };
  run(ctx: DemoContext): Promise<ScenarioResult>;
}

async function install(ctx: DemoContext, targetPath: string): Promise<void> {
  const session = ctx.current;
  if (session === undefined) throw new Error('the device is not running');
  ctx.say.step(
    'agent',
    `checkAndInstall("${targetPath}"): refresh the signed metadata, look it up`,
  );
  await session.agent.checkAndInstall(targetPath);
}

/**
 * Install `targetPath` where the agent must refuse it, narrating the refusal. The outcome is
 * `refusedAs` when the error has the `expected` code; otherwise the code it had, or
 * `installed` when nothing was refused.
 */
async function installExpectingRefusal(
  ctx: DemoContext,
  targetPath: string,
  expected: string,
  refusedAs: string,
): Promise<string> {
  try {
    await install(ctx, targetPath);
    return 'installed';
  } catch (error) {
    ctx.say.step('agent', `refused: ${codeOf(error)}: ${shortenHashes((error as Error).message)}`);
    return codeOf(error) === expected ? refusedAs : codeOf(error);
  }
}

const successfulUpdate: Scenario = {
  title: 'A successful update',
  name: 'successful update',
  expected: { outcome: 'committed', booted: 'B', installed: '1.1.0' },
  async run(ctx) {
    const { info, image } = await publishRelease(ctx, { version: '1.1.0', releaseCounter: 2 });
    ctx.steps.expectImage(info.length);
    await install(ctx, info.path);
    const verdict = await followReboots(ctx);
    const problems: string[] = [];
    if ((await fileSha256(ctx.device.slotDevices.B)) !== sha256(image)) {
      problems.push('slot B does not hold the published image');
    }
    return { outcome: verdict?.outcome ?? 'no verdict', problems };
  },
};

const failedHealthCheck: Scenario = {
  title: 'A release whose application crashes: health check fails, automatic rollback',
  name: 'health check fails',
  expected: { outcome: 'rolled back', booted: 'B', installed: '1.1.0' },
  async run(ctx) {
    const { info } = await publishRelease(ctx, {
      version: '1.2.0',
      releaseCounter: 3,
      app: 'crashes',
    });
    ctx.steps.expectImage(info.length);
    await install(ctx, info.path);
    const verdict = await followReboots(ctx);
    const problems: string[] = [];
    if (!ctx.steps.stats.activated.includes('A')) problems.push('slot A was never activated');
    if (!ctx.steps.stats.rejected.includes('A')) problems.push('slot A was never rejected');
    const outcome = verdict?.outcome === 'rolledBack' ? 'rolled back' : (verdict?.outcome ?? '?');
    return { outcome, problems };
  },
};

const tamperedImage: Scenario = {
  title: 'A tampered image: changed on the server after it was signed',
  name: 'tampered image',
  expected: { outcome: 'refused (hash)', booted: 'B', installed: '1.1.0' },
  async run(ctx) {
    const { info } = await publishRelease(ctx, { version: '1.3.0', releaseCounter: 4 });
    const offset = Math.floor(info.length / 3);
    const files = await ctx.repo.tamper(info, offset);
    ctx.say.step(
      'attacker',
      `flipped one bit at byte ${offset.toLocaleString('en')} of the served image (${files.length} copies); the signed metadata is unchanged (no key)`,
    );
    ctx.steps.expectImage(info.length);
    const outcome = await installExpectingRefusal(
      ctx,
      info.path,
      'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
      'refused (hash)',
    );
    const problems: string[] = [];
    if (ctx.steps.stats.activated.length > 0) problems.push('the tampered slot was activated');
    const status = await ctx.current?.slots.status();
    if (status?.slots.A.bootable !== false || status.nextBoot !== 'B') {
      problems.push('the bootloader could boot slot A');
    } else {
      ctx.say.step(
        'device',
        'slot A holds the refused bytes but was never activated: the bootloader will not boot it',
      );
    }
    ctx.say.step('power', '⏻ reboot, to show what the device boots now');
    await bootAndResume(ctx);
    return { outcome, problems };
  },
};

const otherHardware: Scenario = {
  title: 'An image built for other hardware',
  name: 'other hardware',
  expected: { outcome: 'refused (hardware)', booted: 'B', installed: '1.1.0' },
  async run(ctx) {
    const { info } = await publishRelease(ctx, {
      version: '2.0.0',
      releaseCounter: 9,
      board: 'other-board',
    });
    ctx.say.step(
      'fleet',
      `a mistaken rollout tells this device (demo-board) to install ${info.path}`,
    );
    const before = await fingerprint(ctx);
    const outcome = await installExpectingRefusal(
      ctx,
      info.path,
      'ERR_TUF_INCOMPATIBLE_TARGET',
      'refused (hardware)',
    );
    const problems: string[] = [];
    const { downloadOffsets, bytesWritten } = ctx.steps.stats;
    if (downloadOffsets.length > 0) problems.push('the image download was started');
    if (bytesWritten > 0) problems.push(`${bytesWritten} bytes were written`);
    if ((await fingerprint(ctx)) !== before) problems.push('a slot or the boot env changed');
    ctx.say.step(
      'device',
      problems.length === 0
        ? 'nothing downloaded; both slots and the boot environment are byte-for-byte unchanged'
        : problems.join('; '),
    );
    return { outcome, problems };
  },
};

/** Hashes of both slots and the boot environment. */
async function fingerprint(ctx: DemoContext): Promise<string> {
  const { slotDevices, envPath } = ctx.device;
  const parts = await Promise.all([slotDevices.A, slotDevices.B, envPath].map(fileSha256));
  return parts.join(' ');
}

const powerCut: Scenario = {
  title: 'A power cut in the middle of the image write',
  name: 'power cut mid-write',
  expected: { outcome: 'resumed, committed', booted: 'A', installed: '1.4.0' },
  async run(ctx) {
    const { info, image } = await publishRelease(ctx, { version: '1.4.0', releaseCounter: 5 });
    const cutAtByte = Math.floor(info.length * 0.6);
    // The agent of this boot hands over to one in its own process, which the power cut kills.
    await ctx.current?.close();
    ctx.current = undefined;
    ctx.say.step(
      'agent',
      `checkAndInstall("${info.path}") in the agent's own process; the power goes at byte ${cutAtByte.toLocaleString('en')}`,
    );
    ctx.steps.expectImage(info.length);
    const run = await runAgentUntilPowerCut({
      deviceDir: ctx.device.dir,
      serverUrl: ctx.server.url,
      targetPath: info.path,
      cutAtByte,
      onStep: (event) => ctx.steps.onStep(event),
    });
    const problems: string[] = [];
    if (!run.cut) {
      problems.push(`the power cut did not happen (${run.ending || run.stderr.trim()})`);
      return { outcome: 'no power cut', problems };
    }
    ctx.say.step(
      'power',
      `⚡ power cut: agent process SIGKILLed with ${formatBytes(ctx.steps.stats.writtenUpTo)} of ${formatBytes(info.length)} written`,
    );
    const journal = await (await FsJournalStore.create(ctx.device.stateDir)).readJournal();
    ctx.say.step(
      'disk',
      `journal: phase "${journal?.phase}", ${formatBytes(journal?.bytesVerified ?? 0)} durable and verified (the last fsynced checkpoint)`,
    );
    ctx.say.step('power', '⏻ power restored');
    const afterCut = await bootAndResume(ctx);
    const verdict = (await followReboots(ctx)) ?? afterCut;
    const resumedFrom = ctx.steps.stats.downloadOffsets.at(-1) ?? 0;
    if (resumedFrom === 0) problems.push('the write started over instead of resuming');
    if ((await fileSha256(ctx.device.slotDevices.A)) !== sha256(image)) {
      problems.push('slot A does not hold the published image');
    }
    const outcome =
      verdict?.outcome === 'committed' ? 'resumed, committed' : (verdict?.outcome ?? '?');
    return { outcome, problems };
  },
};

/** The scenarios, in order. */
export const SCENARIOS: readonly Scenario[] = [
  successfulUpdate,
  failedHealthCheck,
  tamperedImage,
  otherHardware,
  powerCut,
];

/**
 * The verdict on a scenario: its outcome must be the expected one, the device must boot the
 * expected slot and report the expected installed version, and every claim the narration made
 * must have held.
 *
 * @example
 * ```ts
 * const row = judge(scenario, await scenario.run(ctx), await inspectDevice(ctx.device));
 * if (!row.ok) console.log(row.problems.join('; '));
 * ```
 */
export function judge(
  scenario: Scenario,
  result: ScenarioResult,
  view: Pick<DeviceView, 'booted' | 'installed'>,
): SummaryRow & { problems: string[] } {
  const { expected } = scenario;
  const problems = [...result.problems];
  if (result.outcome !== expected.outcome) problems.unshift(`expected ${expected.outcome}`);
  if (view.booted !== expected.booted) problems.push(`booted slot should be ${expected.booted}`);
  if (view.installed !== expected.installed) {
    problems.push(`installed version should be ${expected.installed}`);
  }
  return {
    scenario: scenario.name,
    expected: expected.outcome,
    outcome: result.outcome,
    booted: view.booted,
    installed: view.installed,
    ok: problems.length === 0,
    problems,
  };
}
