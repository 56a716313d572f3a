/**
 * The environment of a measured child process (issue 12): the parent's, without the settings
 * that make every Node process do work no client asks for.
 *
 * `NODE_EXTRA_CA_CERTS` makes Node read and parse a PEM bundle at start-up, before any user
 * code, whether or not the process ever opens a TLS connection. The machines here set it to
 * the whole system bundle (144 certificates): 416 M instructions and about 50 ms of CPU in every
 * process, 39% of our fresh-process (a) and four times a bare `node` start. A device has no
 * reason to set it for a plain-HTTP update client, and python-tuf never reads it, so it is
 * removed: it would add the same constant to every client and floor and hide their ratios.
 *
 * @module
 */

/** Variables removed from a measured child's environment, with why (printed by the benches). */
export const REMOVED_FROM_CHILD_ENV: Readonly<Record<string, string>> = {
  NODE_EXTRA_CA_CERTS:
    'parses a CA bundle at every Node start-up (416 M instructions here), not client work',
};

/** The environment for a measured child, and the removed variables that were set. */
export function measuredChildEnv(env: NodeJS.ProcessEnv = process.env): {
  env: NodeJS.ProcessEnv;
  removed: string[];
} {
  const copy = { ...env };
  const removed: string[] = [];
  for (const name of Object.keys(REMOVED_FROM_CHILD_ENV)) {
    if (copy[name] !== undefined) {
      delete copy[name];
      removed.push(name);
    }
  }
  return { env: copy, removed };
}

/** One line saying what was removed, or undefined when nothing was. */
export function describeRemoved(removed: readonly string[]): string | undefined {
  if (removed.length === 0) return undefined;
  return `measured children run without ${removed
    .map((name) => `${name} (${REMOVED_FROM_CHILD_ENV[name]})`)
    .join(', ')}`;
}
