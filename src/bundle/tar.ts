/**
 * A small, strict POSIX tar (ustar, with pax extended headers) reader and writer, for offline
 * update bundles. No dependency.
 *
 * - `tar-header.ts`: the format: constants, caps, member-name rules, header and pax codec;
 * - `tar-reader.ts`: {@link readTarIndex}, a strict index of an archive's regular files that
 *   reads headers only (the archive may come from an attacker's removable media);
 * - `tar-writer.ts`: {@link TarWriter}, a streaming writer that cannot produce an archive the
 *   reader refuses.
 *
 * This module gathers their public API. Does not implement: compression, links, extraction to
 * disk, GNU extensions.
 *
 * @module
 */
export {
  checkTarName,
  DEFAULT_MAX_TAR_ENTRIES,
  MAX_PAX_HEADER_SIZE,
  MAX_TAR_NAME_LENGTH,
  TAR_BLOCK_SIZE,
} from './tar-header.js';
export { type ReadTarOptions, readTarIndex, type TarEntry, type TarIndex } from './tar-reader.js';
export { fileHandleSink, type TarSink, TarWriter, type TarWriterOptions } from './tar-writer.js';
