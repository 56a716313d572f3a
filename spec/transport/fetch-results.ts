/**
 * What the fetcher specs read from a fetch: the error a fetch fails with (so its `code` can be
 * asserted), and the whole body of a stream.
 */
import type { DownloadError } from '../../src/errors.js';

/** The error `promise` rejects with; throws if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  try {
    await promise;
  } catch (error) {
    return error as DownloadError;
  }
  throw new Error('expected the fetch to fail');
}

/** Every chunk of `iterable`, concatenated. */
export async function drain(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return Buffer.concat(chunks);
}
