/**
 * Adapters that let a {@link Primary} read the two repositories and talk to the director over
 * HTTP: a {@link MetadataReader} over any `Fetcher` (`HttpFetcher` in production), an image
 * downloader for consistent-snapshot image repositories (`targets/DIR/HASH.NAME`), and the
 * manifest sender.
 *
 * @module
 */
import type { Fetcher } from '../../client/fetcher.js';
import { targetUrlPath } from '../../client/role-names.js';
import { NotFoundError } from '../../errors.js';
import type { TargetFile } from '../../models/index.js';
import { errorFromJSON, jsonOf, request } from '../transport/http-wire.js';
import type { MetadataReader } from '../verify/repository-chain.js';

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** Read metadata files under `baseUrl`; "not found" (404, ENOENT…) becomes `undefined`. */
export function httpMetadataReader(fetcher: Fetcher, baseUrl: string): MetadataReader {
  const base = withSlash(baseUrl);
  return async (fileName, maxLength) => {
    try {
      return await fetcher.fetchBytes(`${base}${encodeURIComponent(fileName)}`, maxLength);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  };
}

/**
 * Download images from an image repository's `targets/` base URL, by consistent-snapshot name
 * (`DIR/SHA256.NAME`), at most the listed length. The caller verifies the bytes.
 */
export function httpImageFetcher(
  fetcher: Fetcher,
  targetsBaseUrl: string,
): (target: TargetFile) => Promise<Uint8Array> {
  const base = withSlash(targetsBaseUrl);
  return (target) => {
    const hash = target.hashes.sha256 ?? Object.values(target.hashes)[0];
    return fetcher.fetchBytes(`${base}${targetUrlPath(target.path, hash)}`, target.length);
  };
}

/**
 * POST manifests to `url` (the director's `/devices/<id>/manifest`).
 *
 * @throws UptaneError when the director refuses the manifest naming an attack; DownloadError
 *   otherwise.
 */
export function httpManifestSender(url: string): (bytes: Uint8Array) => Promise<void> {
  return async (bytes) => {
    const { status, body } = await request(url, {
      method: 'POST',
      body: bytes,
      maxResponseLength: 64 * 1024,
    });
    if (status >= 200 && status < 300) return;
    throw errorFromJSON(jsonOf(body), status, url);
  };
}
