/**
 * `tufota/server`: serve a repository directory over HTTP (see {@link createStaticServer}).
 *
 * @module
 */
export {
  type AccessLogEntry,
  type BodyCount,
  CACHE_IMMUTABLE,
  CACHE_REVALIDATE,
  cacheControlFor,
  createStaticServer,
  MAX_URL_LENGTH,
  parseRange,
  resolveRequestPath,
  resolveStaticRoot,
  type StaticServer,
  type StaticServerOptions,
  serveStaticRequest,
} from './static-server.js';
