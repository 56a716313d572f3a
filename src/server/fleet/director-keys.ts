/**
 * The director's online keys in the server's data directory: one ed25519 key per top-level role
 * (`director-keys/<role>.pem`, mode 0600), made by `tufota server init` and read by
 * `tufota server start`.
 *
 * The director signs on every device's request, so its keys must be usable unattended. They are
 * encrypted with the password in `$TUFOTA_SERVER_KEY_PASSWORD` when that variable is set at init
 * (and then needed at every start); otherwise written as unencrypted PKCS#8 readable only by
 * the server's user — like a TLS server key — and `init` says so.
 *
 * Adapter (files). Safe for concurrent use on different directories.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InMemorySigner } from '../../crypto/index.js';
import { InvalidStateError } from '../../errors.js';
import { FileSigner, writeKeyFile } from '../../signers/file-signer.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import type { DirectorSigners } from '../../uptane/director/director.js';

/** The environment variable holding the director keys' password. */
export const SERVER_KEY_PASSWORD_ENV = 'TUFOTA_SERVER_KEY_PASSWORD';

const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;

/**
 * Generate the four keys into `dir`; refuses to overwrite existing ones.
 *
 * @returns whether the keys are encrypted.
 */
export async function generateDirectorKeys(
  dir: string,
  env: Record<string, string | undefined>,
): Promise<{ encrypted: boolean }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const password = env[SERVER_KEY_PASSWORD_ENV];
  for (const role of ROLES) {
    const file = path.join(dir, `${role}.pem`);
    const signer = await InMemorySigner.generate('ed25519');
    if (password !== undefined && password !== '') {
      await writeKeyFile(file, signer, password);
    } else {
      const exists = await fs.lstat(file).then(
        () => true,
        () => false,
      );
      if (exists) throw new InvalidStateError(`${file} exists; refusing to overwrite a key`);
      await writeFileAtomic(file, signer.exportPrivateKeyPem(), { mode: 0o600 });
    }
  }
  return { encrypted: password !== undefined && password !== '' };
}

/** Open the director's signers from `dir`. */
export async function loadDirectorSigners(
  dir: string,
  env: Record<string, string | undefined>,
): Promise<DirectorSigners> {
  const open = async (role: (typeof ROLES)[number]) => {
    const file = path.join(dir, `${role}.pem`);
    const password = env[SERVER_KEY_PASSWORD_ENV];
    return FileSigner.open(file, {
      passwordEnv: null,
      ...(password !== undefined && password !== '' ? { password } : {}),
    });
  };
  return {
    root: await open('root'),
    targets: await open('targets'),
    snapshot: await open('snapshot'),
    timestamp: await open('timestamp'),
  };
}
