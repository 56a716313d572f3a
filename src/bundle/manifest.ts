/**
 * The manifest of an offline update bundle: the first tar member, `tufota-bundle.json`, a
 * human-readable summary (format version, creation time, repository, root versions, targets).
 *
 * The manifest is INFORMATIONAL and NEVER TRUSTED: it is not signed, and anyone holding the
 * bundle can rewrite it. The device decides only on the TUF metadata in `metadata/`, verified
 * by the {@link Updater}; `BundleFetcher` never serves the manifest to it. Tools may show the
 * manifest to a person (what is on this USB stick?) and must say it is unverified.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */

/** Name of the manifest member, first in every bundle. */
export const BUNDLE_MANIFEST_NAME = 'tufota-bundle.json';

/** The bundle format this code writes and reads: the tar layout, not the TUF metadata. */
export const BUNDLE_FORMAT_VERSION = 1;

/** Contents of `tufota-bundle.json` (informational, untrusted). */
export interface BundleManifest {
  /** Always `tufota-bundle`. */
  format: 'tufota-bundle';
  /** {@link BUNDLE_FORMAT_VERSION} of the writer. */
  formatVersion: number;
  /** When the bundle was made (ISO 8601). */
  createdAt: string;
  /** The repository's name, as the operator gave it (default: its directory's name). */
  repository: string;
  /** Root versions included, `from` (the oldest root a device may trust) to `to` (newest). */
  rootVersions: { from: number; to: number };
  /** Versions of the top-level roles bundled. */
  timestampVersion: number;
  snapshotVersion: number;
  /** Earliest expiry of the bundled top-level metadata: after it, strict devices refuse it. */
  expires: string;
  /** The chosen targets. */
  targets: Array<{ path: string; length: number; hashes: Record<string, string> }>;
}

/**
 * Canonical-looking, stable bytes of a manifest (two-space JSON, trailing newline).
 *
 * @example
 * ```ts
 * await tar.addFile(BUNDLE_MANIFEST_NAME, encodeBundleManifest(manifest));
 * ```
 */
export function encodeBundleManifest(manifest: BundleManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}
