/**
 * The response decisions of HttpFetcher as tables: status mapping, resume checks and header
 * parsing, each row a case a real server (or an attacker) can produce.
 */
import { describe, expect, it } from 'vitest';
import {
  classify,
  parseContentLength,
  parseContentRange,
  parseRetryAfter,
  type ResponseHeaders,
  type Verdict,
} from '../../src/transport/http-response.js';

const URL = 'https://repo.example/targets/fw.bin';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('classify', () => {
  it.each<[string, number, ResponseHeaders, number, Verdict]>([
    [
      'a whole body',
      200,
      { 'content-length': '10' },
      0,
      { kind: 'body', offset: 0, declaredLength: 10 },
    ],
    ['a chunked body', 200, {}, 0, { kind: 'body', offset: 0, declaredLength: undefined }],
    [
      '200 to a range request: restart at 0',
      200,
      {},
      5,
      { kind: 'body', offset: 0, declaredLength: undefined },
    ],
    [
      'an honoured range',
      206,
      { 'content-range': 'bytes 5-9/10', 'content-length': '5' },
      5,
      { kind: 'body', offset: 5, declaredLength: 5 },
    ],
    [
      'an honoured range of unknown total',
      206,
      { 'content-range': 'bytes 5-9/*' },
      5,
      { kind: 'body', offset: 5, declaredLength: undefined },
    ],
    ['416 at exactly the end', 416, { 'content-range': 'bytes */10' }, 10, { kind: 'complete' }],
    ['416 beyond the end', 416, { 'content-range': 'bytes */10' }, 12, { kind: 'restart' }],
    ['416 without a total', 416, {}, 12, { kind: 'restart' }],
    ['503', 503, {}, 0, { kind: 'retry', retryAfterMs: undefined }],
    ['429 with Retry-After', 429, { 'retry-after': '2' }, 0, { kind: 'retry', retryAfterMs: 2000 }],
    ['502', 502, {}, 0, { kind: 'retry', retryAfterMs: undefined }],
    ['504', 504, {}, 0, { kind: 'retry', retryAfterMs: undefined }],
  ])('%s', (_name, status, headers, offset, verdict) => {
    expect(classify(status, headers, offset, 100, URL)).toEqual(verdict);
  });

  it.each<[string, number, ResponseHeaders, number, number, string]>([
    ['403 (S3 for a missing key)', 403, {}, 0, 100, 'ERR_TUF_NOT_FOUND'],
    ['404', 404, {}, 0, 100, 'ERR_TUF_NOT_FOUND'],
    ['410', 410, {}, 0, 100, 'ERR_TUF_NOT_FOUND'],
    ['404 to a range request', 404, {}, 5, 100, 'ERR_TUF_NOT_FOUND'],
    ['500', 500, {}, 0, 100, 'ERR_TUF_DOWNLOAD_HTTP'],
    ['204 (no body is not a file)', 204, {}, 0, 100, 'ERR_TUF_DOWNLOAD_HTTP'],
    [
      '206 to a request without Range',
      206,
      { 'content-range': 'bytes 0-9/10' },
      0,
      100,
      'ERR_TUF_DOWNLOAD_HTTP',
    ],
    ['416 to a request without Range', 416, {}, 0, 100, 'ERR_TUF_DOWNLOAD_HTTP'],
    [
      '206 starting elsewhere',
      206,
      { 'content-range': 'bytes 0-9/10' },
      5,
      100,
      'ERR_TUF_DOWNLOAD',
    ],
    ['206 without Content-Range', 206, {}, 5, 100, 'ERR_TUF_DOWNLOAD'],
    [
      '206 covering only part of the rest',
      206,
      { 'content-range': 'bytes 5-6/10' },
      5,
      100,
      'ERR_TUF_DOWNLOAD',
    ],
    [
      '206 of a resource above the cap',
      206,
      { 'content-range': 'bytes 5-199/200' },
      5,
      100,
      'ERR_TUF_DOWNLOAD_TOO_LARGE',
    ],
    ['a malformed Content-Length', 200, { 'content-length': '1e3' }, 0, 100, 'ERR_TUF_DOWNLOAD'],
  ])('rejects %s', (_name, status, headers, offset, maxLength, code) => {
    expect(codeOf(() => classify(status, headers, offset, maxLength, URL))).toBe(code);
  });

  it('reports the status code of an HTTP error', () => {
    try {
      classify(500, {}, 0, 100, URL);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ statusCode: 500, url: URL });
    }
  });
});

describe('header parsing', () => {
  it.each([
    ['bytes 0-0/1', { start: 0, end: 0, total: 1 }],
    ['bytes 10-19/*', { start: 10, end: 19, total: undefined }],
    ['items 0-1/2', undefined],
    ['bytes 0-1,3-4/5', undefined],
    [undefined, undefined],
  ])('Content-Range %s', (value, parsed) => {
    expect(parseContentRange(value, URL)).toEqual(parsed);
  });

  it.each(['bytes 5-4/10', 'bytes 0-10/10'])(
    'rejects the inconsistent Content-Range %s',
    (value) => {
      expect(codeOf(() => parseContentRange(value, URL))).toBe('ERR_TUF_DOWNLOAD');
    },
  );

  it.each([
    ['0', 0],
    ['12345', 12345],
    [undefined, undefined],
    [['1', '2'], undefined],
  ])('Content-Length %s', (value, parsed) => {
    expect(parseContentLength(value, URL)).toBe(parsed);
  });

  it.each(['-1', '1.5', ' 1', '9999999999999999'])('rejects the Content-Length %s', (value) => {
    expect(codeOf(() => parseContentLength(value, URL))).toBe('ERR_TUF_DOWNLOAD');
  });

  it.each([
    ['3', 3000],
    ['Thu, 01 Jan 1970 00:00:10 GMT', 5000],
    ['Thu, 01 Jan 1970 00:00:01 GMT', 0],
    ['soon', undefined],
    ['', undefined],
  ])('Retry-After %s at t=5 s', (value, ms) => {
    expect(parseRetryAfter(value, 5000)).toBe(ms);
  });
});
