/**
 * `tufota/server`: serve a repository directory over HTTP (see {@link createStaticServer}).
 *
 * @module
 */
export {
  type AccessLogEntry,
  CACHE_IMMUTABLE,
  CACHE_REVALIDATE,
  cacheControlFor,
  createStaticServer,
  MAX_URL_LENGTH,
  parseRange,
  resolveRequestPath,
  type StaticServer,
  type StaticServerOptions,
} from './static-server.js';
