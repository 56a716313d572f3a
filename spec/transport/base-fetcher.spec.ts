/**
 * The safety guarantees of BaseFetcher, shown with an in-memory transport whose every call is
 * recorded: the cap, the declared-length precheck, wrapping once, abort, and release.
 */
import { describe, expect, it } from 'vitest';
import { BaseFetcher, type OpenedResource, type OpenRequest } from '../../src/client/fetcher.js';
import { DownloadError, DownloadLengthError, NotFoundError } from '../../src/errors.js';

interface Script {
  chunks?: Uint8Array[];
  /** Yield chunks forever (endless-data attack). */
  endless?: boolean;
  declaredLength?: number;
  /** Offset the source claims to honour; default: the requested one. */
  honour?: (requested: number) => number;
  /** Thrown by open(). */
  openError?: unknown;
  /** Thrown by the body after its chunks. */
  bodyError?: unknown;
  /** The body never produces another chunk after its scripted ones. */
  stallAfterChunks?: boolean;
}

class ScriptedFetcher extends BaseFetcher {
  readonly log = { opened: 0, reads: 0, destroyed: 0, returned: 0, requests: [] as OpenRequest[] };
  constructor(private readonly script: Script) {
    super();
  }
  protected override async open(_url: string, request: OpenRequest): Promise<OpenedResource> {
    this.log.requests.push(request);
    if (this.script.openError !== undefined) throw this.script.openError;
    this.log.opened++;
    const { log, script } = this;
    let index = 0;
    const iterator: AsyncIterator<Uint8Array> = {
      next: async () => {
        log.reads++;
        if (script.endless === true) return { done: false, value: new Uint8Array(1000).fill(7) };
        const chunk = script.chunks?.[index++];
        if (chunk !== undefined) return { done: false, value: chunk };
        if (script.bodyError !== undefined) throw script.bodyError;
        if (script.stallAfterChunks === true) return new Promise(() => {});
        return { done: true, value: undefined };
      },
      return: async () => {
        log.returned++;
        return { done: true, value: undefined };
      },
    };
    return {
      body: { [Symbol.asyncIterator]: () => iterator },
      offset: script.honour === undefined ? request.offset : script.honour(request.offset),
      declaredLength: script.declaredLength,
      destroy: () => {
        log.destroyed++;
      },
    };
  }
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of iterable) out.push(...chunk);
  return out;
}

describe('BaseFetcher', () => {
  it('delivers a body within the cap, as a fresh Uint8Array', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1, 2), bytes(3)] });
    const result = await fetcher.fetchBytes('mem://a', 3);
    expect(Array.from(result)).toEqual([1, 2, 3]);
    expect(result.constructor).toBe(Uint8Array);
    expect(fetcher.log.destroyed).toBe(1); // released even after a natural end
  });

  it('stops an endless body at exactly the cap, then fails with DownloadLengthError', async () => {
    const fetcher = new ScriptedFetcher({ endless: true });
    const received: number[] = [];
    const error = await (async () => {
      for await (const chunk of fetcher.fetchStream('mem://endless', 2500)) {
        received.push(chunk.byteLength);
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadLengthError);
    expect((error as DownloadLengthError).code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
    expect((error as DownloadLengthError).maxLength).toBe(2500);
    expect(received).toEqual([1000, 1000, 500]);
    expect(fetcher.log.reads).toBe(3); // no read after the chunk carrying byte cap + 1
    expect(fetcher.log.destroyed).toBe(1);
  });

  it('accepts a body of exactly the cap', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1, 2, 3)] });
    expect(Array.from(await fetcher.fetchBytes('mem://x', 3))).toEqual([1, 2, 3]);
  });

  it('refuses a declared length above the cap before reading a byte', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1)], declaredLength: 11 });
    const error = await fetcher.fetchBytes('mem://big', 10).catch((e: unknown) => e);
    expect((error as DownloadLengthError).code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
    expect(fetcher.log.reads).toBe(0);
    expect(fetcher.log.destroyed).toBe(1);
  });

  it('wraps a foreign error once, with the URL and cause', async () => {
    const cause = new Error('socket hang up');
    const fetcher = new ScriptedFetcher({ openError: cause });
    const error = await fetcher.fetchBytes('mem://e', 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).code).toBe('ERR_TUF_DOWNLOAD');
    expect((error as DownloadError).url).toBe('mem://e');
    expect((error as DownloadError).cause).toBe(cause);
  });

  it('never wraps a DownloadError twice, in open or in the body', async () => {
    const notFound = new NotFoundError('gone', { url: 'mem://n' });
    const inOpen = await new ScriptedFetcher({ openError: notFound })
      .fetchBytes('mem://n', 10)
      .catch((e: unknown) => e);
    expect(inOpen).toBe(notFound);
    const inBody = await new ScriptedFetcher({ chunks: [bytes(1)], bodyError: notFound })
      .fetchBytes('mem://n', 10)
      .catch((e: unknown) => e);
    expect(inBody).toBe(notFound);
  });

  it('wraps a foreign body error and releases the body', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1)], bodyError: new TypeError('boom') });
    const error = await fetcher.fetchBytes('mem://b', 10).catch((e: unknown) => e);
    expect((error as DownloadError).code).toBe('ERR_TUF_DOWNLOAD');
    expect(((error as DownloadError).cause as Error).message).toBe('boom');
    expect(fetcher.log.destroyed).toBe(1);
  });

  it('rejects with the abort reason while a read hangs, and releases the body', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1)], stallAfterChunks: true });
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const pending = fetcher.fetchBytes('mem://s', 10, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(fetcher.log.destroyed).toBe(1);
  });

  it('does not open anything with an already aborted signal', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1)] });
    const reason = new Error('too late');
    const response = fetcher.fetchRange('mem://a', 10, {
      offset: 0,
      signal: AbortSignal.abort(reason),
    });
    await expect(response).rejects.toBe(reason);
    expect(fetcher.log.requests).toHaveLength(0);
  });

  it('releases the body when the consumer breaks out early', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1), bytes(2), bytes(3)] });
    for await (const _ of fetcher.fetchStream('mem://a', 10)) break;
    expect(fetcher.log.reads).toBe(1);
    expect(fetcher.log.destroyed).toBe(1);
  });

  it('is lazy: fetchStream opens nothing until iterated', async () => {
    const fetcher = new ScriptedFetcher({ chunks: [bytes(1)] });
    fetcher.fetchStream('mem://a', 10);
    expect(fetcher.log.requests).toHaveLength(0);
  });

  describe('fetchRange', () => {
    it('caps the whole resource: an honoured offset leaves maxLength - offset bytes', async () => {
      const fetcher = new ScriptedFetcher({ chunks: [bytes(4, 5, 6)] });
      const response = await fetcher.fetchRange('mem://r', 5, { offset: 3 });
      expect(response.offset).toBe(3);
      await expect(collect(response)).rejects.toBeInstanceOf(DownloadLengthError);
      expect(fetcher.log.requests[0]).toMatchObject({ offset: 3, maxLength: 5 });
    });

    it('reports offset 0 when the source ignored the requested offset', async () => {
      const fetcher = new ScriptedFetcher({ chunks: [bytes(1, 2, 3, 4)], honour: () => 0 });
      const response = await fetcher.fetchRange('mem://r', 4, { offset: 2 });
      expect(response.offset).toBe(0);
      expect(await collect(response)).toEqual([1, 2, 3, 4]);
    });

    it('refuses a source that resumes at another offset than requested', async () => {
      const fetcher = new ScriptedFetcher({ chunks: [bytes(1)], honour: () => 1 });
      const error = await fetcher.fetchRange('mem://r', 9, { offset: 2 }).catch((e: unknown) => e);
      expect((error as DownloadError).code).toBe('ERR_TUF_DOWNLOAD');
      expect(fetcher.log.destroyed).toBe(1);
    });

    it('cancel() releases a response that is never read', async () => {
      const fetcher = new ScriptedFetcher({ chunks: [bytes(1)] });
      const response = await fetcher.fetchRange('mem://r', 9, { offset: 0 });
      response.cancel();
      response.cancel();
      expect(fetcher.log.destroyed).toBe(1);
      expect(await collect(response)).toEqual([]);
    });

    it.each([
      [10, -1],
      [10, 11],
      [10, 1.5],
      [-1, 0],
      [Number.NaN, 0],
    ])('rejects maxLength %s with offset %s as API misuse', async (maxLength, offset) => {
      const fetcher = new ScriptedFetcher({ chunks: [] });
      const error = await fetcher
        .fetchRange('mem://r', maxLength, { offset })
        .catch((e: unknown) => e);
      expect((error as DownloadError).code).toBe('ERR_TUF_INVALID_STATE');
      expect(fetcher.log.requests).toHaveLength(0);
    });
  });
});
