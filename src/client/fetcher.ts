/**
 * The fetch primitive the TUF client and the device agent download through, and the base class
 * that makes every implementation safe.
 *
 * Implements:
 * - {@link Fetcher}: the interface consumers depend on (`Updater`, the device agent).
 * - {@link BaseFetcher}: implementers write one method, {@link BaseFetcher.open}, that opens a
 *   byte stream; the base class enforces the length cap (TUF 5.2–5.6: "the client MUST NOT
 *   download more than the length listed", the endless-data attack), wraps unexpected errors
 *   once into a {@link DownloadError} carrying the URL, honours abort signals, and releases the
 *   underlying connection or file on every path (end, error, cap, abort, early `break`).
 *
 * Does not implement: timeouts, retries, redirects, TLS or proxies. Those are options of the
 * concrete fetchers (`HttpFetcher`, `FileFetcher` in `src/transport/`), never parameters of this
 * interface, so the client stays transport-neutral. Does not verify hashes either: the caller
 * hashes the bytes it receives against trusted metadata.
 *
 * ## Resuming a download
 *
 * {@link Fetcher.fetchStream} and {@link Fetcher.fetchBytes} always deliver a whole resource
 * from byte 0. Resuming is a separate method, {@link Fetcher.fetchRange}, because the source may
 * not honour the requested offset (an HTTP server that ignores `Range` answers `200` with the
 * whole body): the returned {@link FetchResponse} says at which `offset` its first byte sits,
 * and the caller must discard its partial data when that offset is `0` instead of the one it
 * asked for. `maxLength` always caps the *whole resource*, so a caller passes the same cap (the
 * target's trusted length) whether or not the offset is honoured.
 *
 * Concurrency: a {@link BaseFetcher} holds no per-request state and is safe for concurrent
 * fetches as long as its subclass is. One {@link FetchResponse} is a single-consumer iterator:
 * do not call `next()` again before the previous call settled (a `for await` loop never does).
 *
 * @module
 */
import { DownloadError, DownloadLengthError, InvalidStateError, TufError } from '../errors.js';

/** Options accepted by every fetch. */
export interface FetchOptions {
  /**
   * Aborts the fetch. The promise or iterator then rejects with `signal.reason` as is (not
   * wrapped in a {@link DownloadError}: aborting is the caller's decision, not a transport
   * failure), and the connection or file is released.
   */
  signal?: AbortSignal;
}

/** Options of {@link Fetcher.fetchRange}. */
export interface FetchRangeOptions extends FetchOptions {
  /**
   * Byte position to resume from (an integer, `0 <= offset <= maxLength`). The source may not
   * honour it: read {@link FetchResponse.offset}.
   */
  offset: number;
}

/**
 * A body being received, produced by {@link Fetcher.fetchRange}: an async iterable of chunks
 * that never yields more than the cap in total.
 *
 * Iterate it to the end, or `break` out of the loop, or call {@link FetchResponse.cancel}: each
 * releases the connection or file. A response that is dropped without any of these holds a
 * socket until the server's or the fetcher's timeouts close it.
 */
export interface FetchResponse extends AsyncIterable<Uint8Array> {
  /**
   * Position in the resource of the first byte this body yields: the requested offset when the
   * source honoured it, `0` when it sent the whole resource instead (discard partial data and
   * start over). Never any other value.
   */
  readonly offset: number;
  /**
   * Number of body bytes the source announced (HTTP `Content-Length`, remaining file size), if
   * it announced any. Informational only: the cap is enforced on the bytes actually received,
   * and the caller still checks the final length against trusted metadata.
   */
  readonly declaredLength: number | undefined;
  /** Stop receiving and release the connection or file. Idempotent. */
  cancel(): void;
}

/**
 * How the TUF client and the device agent download bytes.
 *
 * Every method caps what it delivers at `maxLength` bytes of the resource: a source that sends
 * more (the endless-data attack) makes it reject with {@link DownloadLengthError} after
 * delivering at most `maxLength` bytes. "Not found" is transport-neutral: HTTP 403/404/410 and a
 * missing file both reject with {@link NotFoundError}, which ends the root-rotation loop (TUF
 * 5.3.3). Every other failure is a {@link DownloadError} subclass, except aborts (`signal.reason`)
 * and invalid arguments ({@link InvalidStateError}).
 *
 * @example
 * ```ts
 * const bytes = await fetcher.fetchBytes(`${base}/timestamp.json`, 16 * 1024);
 * for await (const chunk of fetcher.fetchStream(`${base}/targets/${name}`, target.length)) {
 *   hasher.update(chunk);
 * }
 * ```
 */
export interface Fetcher {
  /**
   * Stream the whole resource at `url` from byte 0, never yielding more than `maxLength` bytes.
   * Lazy: nothing is requested until iteration starts.
   */
  fetchStream(url: string, maxLength: number, options?: FetchOptions): AsyncIterable<Uint8Array>;

  /** The whole resource at `url` as one `Uint8Array` (not a pooled `Buffer`), same cap. */
  fetchBytes(url: string, maxLength: number, options?: FetchOptions): Promise<Uint8Array>;

  /**
   * Resume: request the resource from `options.offset` on. Resolves once the source answered,
   * with the offset it actually honoured (see {@link FetchResponse.offset}). `maxLength` caps
   * the whole resource, so the body yields at most `maxLength - response.offset` bytes.
   *
   * @example
   * ```ts
   * const response = await fetcher.fetchRange(url, target.length, { offset: partial.length });
   * if (response.offset === 0) await partial.truncate(0); // the source ignored the offset
   * for await (const chunk of response) await partial.append(chunk);
   * ```
   */
  fetchRange(url: string, maxLength: number, options: FetchRangeOptions): Promise<FetchResponse>;
}

/** What {@link BaseFetcher.open} is asked for. */
export interface OpenRequest {
  /** Requested start position; `0` for a whole resource. */
  offset: number;
  /** Cap on the whole resource's length; an implementation may reject early when it knows more. */
  maxLength: number;
  /** The caller's abort signal, to pass on to the transport. */
  signal: AbortSignal | undefined;
}

/** What {@link BaseFetcher.open} returns: an opened, not yet consumed body. */
export interface OpenedResource {
  /** The bytes from `offset` on. Node `Readable` streams fit as they are. */
  body: AsyncIterable<Uint8Array>;
  /** The offset actually honoured: the requested one, or `0` when the whole resource follows. */
  offset: number;
  /** Body length the source announced, if any; checked against the cap before reading. */
  declaredLength?: number | undefined;
  /**
   * Release the body without reading it further (destroy the stream, close the file). Called by
   * the base class on every early stop; ending the iterator with `return()` is also attempted.
   */
  destroy?: (() => void) | undefined;
}

/**
 * Base of every fetcher: subclasses implement {@link BaseFetcher.open}, the base class does the
 * rest safely.
 *
 * Guarantees, whatever `open` does:
 * - a declared length above the remaining cap fails with {@link DownloadLengthError} before a
 *   byte is read;
 * - at most `maxLength - offset` bytes are yielded; the chunk that carries byte `cap + 1` is
 *   truncated to the cap, the body is destroyed at once, and the next read rejects with
 *   {@link DownloadLengthError};
 * - errors that are not already a {@link TufError} are wrapped exactly once into a
 *   {@link DownloadError} with the URL and the original as `cause`;
 * - an aborted signal rejects with `signal.reason` even if `open`'s transport ignores it;
 * - the body is released on end, error, cap, abort and early `break`.
 *
 * @example
 * ```ts
 * class MemoryFetcher extends BaseFetcher {
 *   constructor(private readonly files: Map<string, Uint8Array>) { super(); }
 *   protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
 *     const data = this.files.get(url);
 *     if (data === undefined) throw new NotFoundError(`${url} not found`, { url });
 *     const offset = request.offset <= data.length ? request.offset : 0;
 *     async function* body() { yield data!.subarray(offset); }
 *     return { body: body(), offset, declaredLength: data.length - offset };
 *   }
 * }
 * ```
 */
export abstract class BaseFetcher implements Fetcher {
  /**
   * Open `url` from `request.offset` (or from 0 if the source cannot seek). Throw
   * {@link NotFoundError} for a missing resource and any {@link DownloadError} subclass for
   * known failures; anything else is wrapped by the base class.
   */
  protected abstract open(url: string, request: OpenRequest): Promise<OpenedResource>;

  /** @inheritDoc Fetcher.fetchStream */
  async *fetchStream(
    url: string,
    maxLength: number,
    options: FetchOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const response = await this.fetchRange(url, maxLength, { offset: 0, signal: options.signal });
    // `yield*` forwards an early `return()` to the response, which releases the body.
    yield* response;
  }

  /** @inheritDoc Fetcher.fetchBytes */
  async fetchBytes(
    url: string,
    maxLength: number,
    options: FetchOptions = {},
  ): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this.fetchStream(url, maxLength, options)) {
      chunks.push(chunk);
      total += chunk.byteLength;
    }
    // A fresh, exactly sized array: never a view into a shared Buffer pool.
    const bytes = new Uint8Array(total);
    let position = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, position);
      position += chunk.byteLength;
    }
    return bytes;
  }

  /** @inheritDoc Fetcher.fetchRange */
  async fetchRange(
    url: string,
    maxLength: number,
    options: FetchRangeOptions,
  ): Promise<FetchResponse> {
    const { offset, signal } = options;
    if (!Number.isSafeInteger(maxLength) || maxLength < 0) {
      throw new InvalidStateError(`maxLength must be a non-negative integer, got ${maxLength}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > maxLength) {
      throw new InvalidStateError(
        `offset must be an integer between 0 and maxLength (${maxLength}), got ${offset}`,
      );
    }
    signal?.throwIfAborted();

    let opened: OpenedResource;
    const opening = this.open(url, { offset, maxLength, signal });
    try {
      opened = await raceAbort(opening, signal);
    } catch (error) {
      // Aborted while the transport was still opening: release whatever it opens later.
      if (signal?.aborted === true)
        opening.then(
          (late) => releaseResource(late),
          () => {},
        );
      throw toFetchError(error, url, signal);
    }

    const release = (): void => releaseResource(opened);
    if (opened.offset !== 0 && opened.offset !== offset) {
      release();
      throw new DownloadError(
        `${url}: the source resumed at byte ${opened.offset} but byte ${offset} was requested`,
        { url },
      );
    }
    const limit = maxLength - opened.offset;
    const declared = opened.declaredLength;
    if (declared !== undefined && declared > limit) {
      release();
      throw new DownloadLengthError(
        `${url}: the source announced ${declared} bytes from byte ${opened.offset}, more than the ` +
          `${maxLength}-byte cap allows; refusing to read it`,
        { url, maxLength },
      );
    }
    return new CappedResponse(url, maxLength, opened, limit, signal);
  }
}

/**
 * The body iterator handed to callers: counts bytes against the cap, races reads against the
 * abort signal, maps errors, and releases the resource exactly once.
 */
class CappedResponse implements FetchResponse, AsyncIterableIterator<Uint8Array> {
  readonly offset: number;
  readonly declaredLength: number | undefined;
  readonly #url: string;
  readonly #maxLength: number;
  readonly #resource: OpenedResource;
  readonly #limit: number;
  readonly #signal: AbortSignal | undefined;
  #iterator: AsyncIterator<Uint8Array> | undefined;
  #received = 0;
  #released = false;
  /** Set when the chunk carrying byte `limit + 1` arrived: the next read rejects. */
  #overflowed = false;

  constructor(
    url: string,
    maxLength: number,
    resource: OpenedResource,
    limit: number,
    signal: AbortSignal | undefined,
  ) {
    this.#url = url;
    this.#maxLength = maxLength;
    this.#resource = resource;
    this.#limit = limit;
    this.#signal = signal;
    this.offset = resource.offset;
    this.declaredLength = resource.declaredLength;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.#overflowed) {
      this.#overflowed = false;
      throw this.#lengthError();
    }
    if (this.#released) return { done: true, value: undefined };
    for (;;) {
      let result: IteratorResult<Uint8Array>;
      try {
        this.#signal?.throwIfAborted();
        this.#iterator ??= this.#resource.body[Symbol.asyncIterator]();
        result = await raceAbort(this.#iterator.next(), this.#signal);
      } catch (error) {
        this.cancel();
        throw toFetchError(error, this.#url, this.#signal);
      }
      if (result.done === true) {
        this.cancel(); // ended on its own; still close whatever the implementation holds open
        return { done: true, value: undefined };
      }
      const chunk = result.value;
      if (!(chunk instanceof Uint8Array)) {
        this.cancel();
        throw new DownloadError(`${this.#url}: the transport produced a non-binary chunk`, {
          url: this.#url,
        });
      }
      if (chunk.byteLength === 0) continue;
      const room = this.#limit - this.#received;
      if (chunk.byteLength > room) {
        // Byte `limit + 1` arrived: stop reading now, hand out what fits, fail on the next read.
        this.cancel();
        this.#received = this.#limit;
        if (room === 0) throw this.#lengthError();
        this.#overflowed = true;
        return { done: false, value: chunk.subarray(0, room) };
      }
      this.#received += chunk.byteLength;
      return { done: false, value: chunk };
    }
  }

  async return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#overflowed = false;
    this.cancel();
    return { done: true, value: undefined };
  }

  cancel(): void {
    if (this.#released) return;
    this.#released = true;
    releaseResource(this.#resource, this.#iterator);
  }

  #lengthError(): DownloadLengthError {
    return new DownloadLengthError(
      `${this.#url}: the source sent more than the ${this.#maxLength}-byte cap allows ` +
        `(endless-data attack or wrong length in metadata); stopped reading at the cap`,
      { url: this.#url, maxLength: this.#maxLength },
    );
  }
}

/** Destroy a body and end its iterator, swallowing errors: release must never throw. */
function releaseResource(resource: OpenedResource, iterator?: AsyncIterator<Uint8Array>): void {
  try {
    resource.destroy?.();
  } catch {
    // Releasing is best effort; the original outcome matters more.
  }
  // Node streams destroy themselves when their iterator returns; ask even if destroy existed.
  // Not awaited: with a read still pending, return() settles only after destroy ends that read.
  const it = iterator ?? (resource.destroy === undefined ? iteratorOf(resource.body) : undefined);
  try {
    it?.return?.()?.catch(() => {});
  } catch {
    // Same as above.
  }
}

function iteratorOf(body: AsyncIterable<Uint8Array>): AsyncIterator<Uint8Array> | undefined {
  try {
    return body[Symbol.asyncIterator]();
  } catch {
    return undefined;
  }
}

/** Map anything thrown while fetching to the error the {@link Fetcher} contract promises. */
function toFetchError(error: unknown, url: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  if (error instanceof TufError) return error; // DownloadError subclasses: never wrap twice
  const detail = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return new DownloadError(
    `downloading ${url} failed: ${detail}${typeof code === 'string' ? ` (${code})` : ''}`,
    { url, cause: error },
  );
}

/** Settle with `promise`, or reject with `signal.reason` as soon as the signal aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) {
      onAbort();
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
    }
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
