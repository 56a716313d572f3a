/**
 * Signer adapters that touch the outside world: key files ({@link FileSigner},
 * {@link writeKeyFile}) and external commands ({@link CommandSigner}). The in-memory signer and
 * the `Signer` interface live in `src/crypto/signer.ts`.
 *
 * @module
 */

export {
  CommandSigner,
  type CommandSignerOptions,
  DEFAULT_COMMAND_TIMEOUT_MS,
} from './command-signer.js';
export {
  DEFAULT_PASSWORD_ENV,
  FileSigner,
  type FileSignerOptions,
  MAX_KEY_FILE_SIZE,
  type WriteKeyFileOptions,
  writeKeyFile,
} from './file-signer.js';
