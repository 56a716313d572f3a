/**
 * What the demo's scenarios share: the repository, the server, the device and its running agent,
 * and the moves every scenario is made of — publish a release, power the device on (bootloader,
 * then `resume()` as a device's agent runs on every boot), follow the agent's reboots until it
 * reaches a verdict, and describe the device afterwards.
 *
 * Not safe for concurrent use: scenarios run one after another on one device.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { TargetFile } from 'tufota';
import type { ResumeResult } from 'tufota/device';
import type { StaticServer } from 'tufota/server';
import type { AgentSteps } from './agent-steps.js';
import {
  type DeviceLayout,
  type DeviceSession,
  type DeviceView,
  inspectDevice,
  powerOn,
  startAgent,
} from './device.js';
import { type AppBehaviour, buildFirmware } from './firmware.js';
import { formatBytes, type Narrator, shortHash } from './output.js';
import type { DemoRepository } from './release-repo.js';

/** Everything a scenario works with. */
export interface DemoContext {
  say: Narrator;
  steps: AgentSteps;
  repo: DemoRepository;
  server: StaticServer;
  device: DeviceLayout;
  /** The agent of the device's current boot (`undefined` while it is powered off). */
  current: DeviceSession | undefined;
  /** Size of every image the demo builds, in bytes. */
  imageSize: number;
}

/** A release as published. */
export interface Release {
  info: TargetFile;
  image: Uint8Array;
}

/** Options of {@link publishRelease}. */
export interface PublishReleaseOptions {
  version: string;
  releaseCounter: number;
  app?: AppBehaviour;
  /** Board the image is for (default the demo board). */
  board?: string;
}

/** Build an image and publish it as `firmware/<board>/<version>.img`. */
export async function publishRelease(
  ctx: DemoContext,
  options: PublishReleaseOptions,
): Promise<Release> {
  const board = options.board ?? 'demo-board';
  const image = buildFirmware(
    { version: options.version, app: options.app ?? 'healthy' },
    ctx.imageSize,
  );
  const info = await ctx.repo.publish(`firmware/${board}/${options.version}.img`, image, {
    hardwareIds: [board],
    version: options.version,
    releaseCounter: options.releaseCounter,
  });
  ctx.say.step(
    'repository',
    `published ${info.path}: ${formatBytes(info.length)}, version ${options.version}, releaseCounter ${options.releaseCounter}, for ${board}, sha256 ${shortHash(info.hashes.sha256)}`,
  );
  return { info, image };
}

/** The power-on of a device: bootloader, then a fresh agent that runs `resume()`. */
export async function bootAndResume(ctx: DemoContext): Promise<ResumeResult> {
  await ctx.current?.close();
  ctx.current = undefined;
  const boot = await powerOn(ctx.device);
  for (const line of boot.log) ctx.say.step('bootloader', line);
  if (boot.fellBack) {
    ctx.say.step(
      'bootloader',
      `fell back to slot ${boot.booted}: its trial slot was not confirmed`,
    );
  }
  ctx.current = await startAgent(ctx.device, ctx.server.url, {
    onAppCheck: (line) => ctx.say.step('app', line),
  });
  const result = await ctx.current.agent.resume();
  narrateResume(ctx.say, result);
  return result;
}

function narrateResume(say: Narrator, result: ResumeResult): void {
  switch (result.outcome) {
    case 'idle':
      say.step('agent', 'resume(): nothing in flight, a normal boot');
      break;
    case 'rebooting':
      break; // the reboot step already said where to
    case 'committed':
      say.step('agent', `resume() → committed ${result.journal?.target.version ?? ''}`.trim());
      break;
    default:
      say.step(
        'agent',
        `resume() → ${result.outcome}${result.error ? `: ${result.error.message}` : ''}`,
      );
  }
}

/**
 * Follow the agent's reboot requests (each is a power cycle) until a boot ends without one.
 *
 * @throws Error if the device keeps rebooting (a loop a real device's watchdog would show).
 */
export async function followReboots(ctx: DemoContext): Promise<ResumeResult | undefined> {
  let last: ResumeResult | undefined;
  for (let boots = 0; ctx.current?.rebootRequested !== false; boots++) {
    if (boots === 6) throw new Error('the device kept rebooting');
    ctx.say.step('power', '⏻ reboot');
    last = await bootAndResume(ctx);
  }
  return last;
}

/** One line describing the device: booted, next boot, slot contents, installed version. */
export async function describeDevice(ctx: DemoContext): Promise<DeviceView> {
  const view = await inspectDevice(ctx.device);
  ctx.say.step(
    'device',
    `booted ${view.booted} · next boot ${view.nextBoot} · slot A holds ${view.slotVersions.A} · slot B holds ${view.slotVersions.B} · installed ${view.installed}`,
  );
  return view;
}

/** sha256 of a file, to prove what a slot holds or that nothing changed. */
export async function fileSha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** sha256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Shorten the hex digests in a message (`af9b2cc67c02…`), for one-line narration. */
export function shortenHashes(message: string): string {
  return message.replace(/\b([0-9a-f]{12})[0-9a-f]{52,116}\b/g, '$1…');
}

/** The stable `code` of an error (`ERR_TUF_*`), or its name. */
export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : String(error);
}
