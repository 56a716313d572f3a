/**
 * The `node:diagnostics_channel` channels the TUF client publishes on ({@link CLIENT_CHANNELS}),
 * and the helpers the `Updater` publishes through: a message is built and sent only when someone
 * subscribed, so observability costs nothing when unused.
 *
 * Does not format output (the CLI turns the messages into human output).
 *
 * Safe for concurrent use.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { Metadata } from '../models/index.js';

const debug = debuglog('tufota');

/**
 * Names of the diagnostics channels the updater publishes on. Subscribe with
 * `diagnostics_channel.subscribe(CLIENT_CHANNELS.rootUpdated, (message) => …)`.
 */
export const CLIENT_CHANNELS = Object.freeze({
  /** `{ version, previousVersion, rotatedRoles }` after each new root is verified and persisted. */
  rootUpdated: 'tufota:client:root-updated',
  /** `{ role, version, source: 'cache' | 'remote' }` after a role is trusted in a refresh. */
  metadataUpdated: 'tufota:client:metadata-updated',
  /** `{ referenceTime, rootVersion, timestampVersion, snapshotVersion, targetsVersion }`. */
  refreshed: 'tufota:client:refreshed',
  /** `{ path, length, filepath, downloaded }` after a target is available locally. */
  targetReady: 'tufota:client:target-ready',
} as const);

/** The channel objects, by the names of {@link CLIENT_CHANNELS}. */
export const rootUpdatedChannel = channel(CLIENT_CHANNELS.rootUpdated);
export const metadataUpdatedChannel = channel(CLIENT_CHANNELS.metadataUpdated);
export const refreshedChannel = channel(CLIENT_CHANNELS.refreshed);
export const targetReadyChannel = channel(CLIENT_CHANNELS.targetReady);

/** Publish `message` on `target` if anyone listens. */
export function publish(target: ReturnType<typeof channel>, message: object): void {
  if (target.hasSubscribers) target.publish(message);
}

/** Log and publish that `role` is trusted (no-op for `undefined`). */
export function published(
  metadata: Metadata | undefined,
  role: string,
  source: 'cache' | 'remote',
): void {
  if (metadata === undefined) return;
  debug('%s version %d trusted (from %s)', role, metadata.signed.version, source);
  publish(metadataUpdatedChannel, { role, version: metadata.signed.version, source });
}
