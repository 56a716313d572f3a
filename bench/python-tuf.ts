/**
 * python-tuf, the reference client issue 12's goals are stated against, when this machine can
 * run it. Debian 12 packages no python3-tuf and PyPI is out of reach, so it is looked for, not
 * installed: `import tuf.ngclient` with `TUFOTA_BENCH_PYTHON` (default: `python3`, then Debian's
 * `/usr/bin/python3`, which has the python3-* packages when `python3` is another one) and, when set,
 * `TUFOTA_BENCH_PYTHONPATH` (e.g. Debian trixie's `python3-tuf` and `python3-securesystemslib`
 * unpacked with `dpkg -x` from `apt-get download`). When found, `bench/client.ts` runs
 * `python-tuf-child.py` beside the Node clients and checks the goals against it directly.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A python-tuf the bench can run. */
export interface PythonTuf {
  python: string;
  /** Environment additions for the child (PYTHONPATH), on top of the measured child env. */
  env: Record<string, string>;
  /** `tuf X, securesystemslib Y (python Z)`. */
  version: string;
  /** The child script. */
  child: string;
}

/** The child script, found from the build output (`dist/bench/`) or the sources (`bench/`). */
function childScript(): string {
  const fromDist = fileURLToPath(new URL('../../bench/python-tuf-child.py', import.meta.url));
  return existsSync(fromDist)
    ? fromDist
    : fileURLToPath(new URL('./python-tuf-child.py', import.meta.url));
}

/** The command line that runs `python.child` on `jobFile`, and its environment over `base`. */
export function pythonTufCommand(
  python: PythonTuf,
  jobFile: string,
  base: NodeJS.ProcessEnv,
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return { command: python.python, args: [python.child, jobFile], env: { ...base, ...python.env } };
}

/** python-tuf if `python -c "import tuf.ngclient"` works, else undefined. */
export function findPythonTuf(env: NodeJS.ProcessEnv = process.env): PythonTuf | undefined {
  const extra: Record<string, string> = {};
  if (env.TUFOTA_BENCH_PYTHONPATH !== undefined) extra.PYTHONPATH = env.TUFOTA_BENCH_PYTHONPATH;
  const candidates =
    env.TUFOTA_BENCH_PYTHON === undefined
      ? ['python3', '/usr/bin/python3']
      : [env.TUFOTA_BENCH_PYTHON];
  for (const python of candidates) {
    const probe = spawnSync(
      python,
      [
        '-c',
        'import sys, tuf, tuf.ngclient, securesystemslib; ' +
          'print(f"tuf {tuf.__version__}, securesystemslib {securesystemslib.__version__} ' +
          '(python {sys.version.split()[0]})")',
      ],
      { encoding: 'utf8', env: { ...env, ...extra }, timeout: 30_000 },
    );
    if (probe.status === 0) {
      return { python, env: extra, version: probe.stdout.trim(), child: childScript() };
    }
  }
  return undefined;
}
