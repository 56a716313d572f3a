/**
 * Hostile response bodies for testing a client's transport defences: endless data (TUF threat
 * model "endless data attack"), a drip of bytes (slow retrieval), and a stall after the headers.
 *
 * Implements {@link attackBody}, which turns honest bytes into a hostile body, and
 * {@link AttackFetcher}, a {@link Fetcher} that wraps another one (typically the
 * `RepositorySimulator`) and answers the URLs a rule selects with such a body. The HTTP wrapper
 * (`serveSimulator`) uses the same rules on a real socket, which is what a timeout-based defence
 * (in `HttpFetcher`) needs.
 *
 * Does not implement: timing guarantees. Delays are best effort `setTimeout`s; tests assert on
 * the error a client raises, never on how long it took.
 *
 * Safe for concurrent use: rules are read, never written, while serving.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fetcher, OpenedResource, OpenRequest } from '../client/fetcher.js';
import { BaseFetcher } from '../client/fetcher.js';
import { NotFoundError } from '../errors.js';

/** How to misbehave when answering one request. */
export type ResponseAttack =
  /** The honest bytes, then filler forever; no declared length. */
  | { readonly kind: 'endless'; readonly chunkSize?: number }
  /** The honest bytes, `chunkSize` bytes (default 1) every `intervalMs` (default 50). */
  | { readonly kind: 'drip'; readonly chunkSize?: number; readonly intervalMs?: number }
  /** Nothing after the headers, ever (until the client gives up). */
  | { readonly kind: 'stall' };

/** Picks the attack for a request path (relative to the repository base URL), if any. */
export type AttackRule = (path: string) => ResponseAttack | undefined;

/** Whether {@link attackBody} should declare a length: only for attacks that keep it honest. */
export function declaresLength(attack: ResponseAttack): boolean {
  return attack.kind === 'drip';
}

/**
 * The body to send for `bytes` under `attack`. Iteration stops when `signal` aborts (the
 * consumer went away), so an endless or stalled body never outlives its connection.
 */
export async function* attackBody(
  bytes: Uint8Array,
  attack: ResponseAttack,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  switch (attack.kind) {
    case 'endless': {
      if (bytes.byteLength > 0) yield bytes;
      const filler = new Uint8Array(attack.chunkSize ?? 16 * 1024).fill(0x41);
      while (signal?.aborted !== true) {
        yield filler;
        // Let the event loop breathe: an endless synchronous producer would starve the consumer.
        await sleep(0);
      }
      return;
    }
    case 'drip': {
      const size = Math.max(1, attack.chunkSize ?? 1);
      const interval = attack.intervalMs ?? 50;
      const aborted = (): boolean => signal?.aborted === true;
      for (let i = 0; i < bytes.byteLength && !aborted(); i += size) {
        if (i > 0) await sleep(interval, undefined, { signal }).catch(() => undefined);
        if (aborted()) return;
        yield bytes.subarray(i, i + size);
      }
      return;
    }
    case 'stall': {
      if (signal === undefined) await new Promise<never>(() => {});
      else
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
      return;
    }
  }
}

/**
 * A fetcher that answers some URLs with a hostile body and passes the rest to `inner`.
 *
 * @example
 * ```ts
 * const fetcher = new AttackFetcher(sim, sim.baseUrl, (path) =>
 *   path === 'metadata/timestamp.json' ? { kind: 'endless' } : undefined,
 * );
 * await expect(updater.refresh()).rejects.toMatchObject({ code: 'ERR_TUF_DOWNLOAD_TOO_LARGE' });
 * ```
 */
export class AttackFetcher extends BaseFetcher {
  readonly #inner: Fetcher;
  readonly #baseUrl: string;
  readonly #rule: AttackRule;

  /**
   * @param inner - the honest source (its bytes start the hostile body, when it has any).
   * @param baseUrl - the repository base URL; rules see paths relative to it.
   * @param rule - which requests to attack, and how.
   */
  constructor(inner: Fetcher, baseUrl: string, rule: AttackRule) {
    super();
    this.#inner = inner;
    this.#baseUrl = baseUrl;
    this.#rule = rule;
  }

  protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
    const path = url.startsWith(this.#baseUrl) ? url.slice(this.#baseUrl.length) : url;
    const attack = this.#rule(path);
    if (attack === undefined) {
      const response = await this.#inner.fetchRange(url, request.maxLength, {
        offset: request.offset,
        signal: request.signal,
      });
      return {
        body: response,
        offset: response.offset,
        declaredLength: response.declaredLength,
        destroy: () => response.cancel(),
      };
    }
    let honest: Uint8Array = new Uint8Array(0);
    try {
      // Fetch the honest bytes without a meaningful cap: the attack decides what is sent.
      honest = await this.#inner.fetchBytes(url, Number.MAX_SAFE_INTEGER, {
        signal: request.signal,
      });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    const controller = new AbortController();
    return {
      body: attackBody(honest, attack, controller.signal),
      offset: 0,
      declaredLength: declaresLength(attack) ? honest.byteLength : undefined,
      destroy: () => controller.abort(),
    };
  }
}
