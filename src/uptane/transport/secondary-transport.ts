/**
 * The link between a primary and its secondaries (Uptane Standard 2.1.0 §5.4.2: the primary
 * sends time, metadata and images to secondaries and collects their version reports). The
 * primary talks to each secondary through this interface; implementations:
 * {@link InProcessSecondaryTransport} (same process) and `HttpSecondaryTransport` with
 * `createSecondaryServer` (HTTP on loopback or an in-vehicle network).
 *
 * The transport is untrusted: everything a secondary receives is verified by the secondary, and
 * everything the primary receives (version reports) is signed by the secondary's key and checked
 * by the director.
 *
 * @module
 */
import type { InstallResult } from '../../device/agent.js';
import type { Secondary } from '../secondary/secondary.js';

/** How a secondary verifies metadata. */
export type VerificationMode = 'full' | 'partial';

/** What a secondary says about itself. */
export interface SecondaryInfo {
  ecuSerial: string;
  hardwareId: string;
  verification: VerificationMode;
}

/**
 * What the primary sends a secondary: the metadata files it read, by file name, per repository
 * (`1.root.json`, `timestamp.json`, …), and the image assigned to it. A partial-verification
 * secondary needs only the director's roots and `targets.json`; the primary may send all.
 */
export interface UpdateBundle {
  director: Record<string, Uint8Array>;
  image: Record<string, Uint8Array>;
  /** The image bytes, when the director assigns this secondary one. */
  imageBytes?: Uint8Array;
}

/** What a secondary did with a bundle. */
export interface SecondaryUpdateResult {
  /** `no-update`: nothing assigned (or already installed); `installing`: handed to the agent. */
  outcome: 'no-update' | 'installing';
  /** The path installed. */
  targetPath?: string;
  install?: InstallResult;
}

/** One secondary, as the primary reaches it. */
export interface SecondaryTransport {
  info(): Promise<SecondaryInfo>;
  /**
   * Verify and install. Rejects with the secondary's error (an `UptaneError` naming the attack
   * when it refused the metadata or image).
   */
  update(bundle: UpdateBundle): Promise<SecondaryUpdateResult>;
  /** The secondary's next signed version report (the envelope as JSON). */
  versionReport(): Promise<Record<string, unknown>>;
}

/** A secondary in the same process. */
export class InProcessSecondaryTransport implements SecondaryTransport {
  readonly #secondary: Secondary;
  constructor(secondary: Secondary) {
    this.#secondary = secondary;
  }
  async info(): Promise<SecondaryInfo> {
    return this.#secondary.info();
  }
  update(bundle: UpdateBundle): Promise<SecondaryUpdateResult> {
    return this.#secondary.update(bundle);
  }
  versionReport(): Promise<Record<string, unknown>> {
    return this.#secondary.versionReport();
  }
}
