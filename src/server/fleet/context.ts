/**
 * What every route of the fleet server works with: the store, the director, the configuration,
 * the image repository lookup and the clock. Built once by `createFleetApp`'s caller.
 *
 * @module
 */
import type { Director } from '../../uptane/director/director.js';
import type { FleetStore } from '../store/fleet-store.js';
import type { FleetServerConfig } from './config.js';
import type { ImageLookup } from './image-lookup.js';

/** The fleet server's shared state. */
export interface FleetContext {
  store: FleetStore;
  /** The Uptane director, whose inventory is `store.inventory`. */
  director: Director;
  config: FleetServerConfig;
  /** Finds assignable images in the image repository's trusted metadata. */
  images: ImageLookup;
  /** The clock (tests inject one). */
  now: () => Date;
  /** The fleet secret of the shared-key mode, only with `--unsafe-shared-key FILE`. */
  unsafeSharedKey?: Uint8Array;
}

/** `now()` as the store's ISO 8601 UTC string. */
export function isoNow(ctx: Pick<FleetContext, 'now'>): string {
  return ctx.now().toISOString();
}
