/**
 * The repository mapping of TAP 4 ("Multiple repository consensus on entrusted targets"), the
 * `map.json` an Uptane primary consults before full verification (Uptane Standard 2.1.0
 * §5.4.4.2: "the repository mapping metadata SHALL be consulted").
 *
 * ```json
 * { "repositories": { "director": ["https://director.example.com/devices/vin-1/"],
 *                     "image":    ["https://images.example.com/metadata/"] },
 *   "mapping": [ { "paths": ["*"], "repositories": ["director", "image"],
 *                  "threshold": 2, "terminating": true } ] }
 * ```
 *
 * Paths match as `fnmatch` does in TAP 4's reference: `*` matches any characters, `/`
 * included. The first mapping whose pattern matches decides for a path; a non-terminating one
 * lets later mappings be consulted when it yields nothing (here: when it is not satisfiable).
 *
 * tufota implements the basic Uptane layout: one director and one image repository, both
 * required (threshold 2) for every image. A mapping that asks for anything weaker — one
 * repository alone, or threshold 1 — is refused when parsed, since it would let a single
 * compromised repository install software.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { parseJson } from '../../canonical/index.js';
import { FormatError } from '../../errors.js';
import { FieldReader, isObject } from '../../models/guards.js';

/** Name of the director repository in the map. */
export const DIRECTOR_REPOSITORY = 'director';
/** Name of the image repository in the map. */
export const IMAGE_REPOSITORY = 'image';

/** One entry of `mapping`. */
export interface RepositoryMapping {
  paths: string[];
  repositories: string[];
  threshold: number;
  terminating: boolean;
}

/** A parsed `map.json`. */
export interface RepositoryMap {
  /** Repository name → base URLs (mirrors, in order of preference). */
  repositories: Record<string, string[]>;
  mapping: RepositoryMapping[];
}

/** `*` → [director, image], threshold 2, terminating: the standard's basic case. */
export function defaultRepositoryMap(directorUrl: string, imageUrl: string): RepositoryMap {
  return {
    repositories: { [DIRECTOR_REPOSITORY]: [directorUrl], [IMAGE_REPOSITORY]: [imageUrl] },
    mapping: [
      {
        paths: ['*'],
        repositories: [DIRECTOR_REPOSITORY, IMAGE_REPOSITORY],
        threshold: 2,
        terminating: true,
      },
    ],
  };
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * Parse and check a `map.json`.
 *
 * @throws FormatError for a malformed map, a mapping naming an unknown repository, or one that
 *   does not require both the director and the image repository.
 */
export function parseRepositoryMap(input: Uint8Array | unknown): RepositoryMap {
  const value = input instanceof Uint8Array ? parseJson(input, { maxDepth: 16 }) : input;
  const reader = new FieldReader(value, 'map');
  const reposJson = reader.object('repositories');
  const repositories: Record<string, string[]> = {};
  for (const [name, urls] of Object.entries(reposJson)) {
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string')) {
      throw new FormatError(`map.repositories.${name} must be a non-empty array of URLs`);
    }
    Object.defineProperty(repositories, name, { value: urls, enumerable: true });
  }
  for (const required of [DIRECTOR_REPOSITORY, IMAGE_REPOSITORY]) {
    if (!Object.hasOwn(repositories, required)) {
      throw new FormatError(`map.repositories must name the "${required}" repository`);
    }
  }
  const mappingJson = reader.take('mapping');
  if (!Array.isArray(mappingJson) || mappingJson.length === 0) {
    throw new FormatError('map.mapping must be a non-empty array');
  }
  const mapping = mappingJson.map((entry, i): RepositoryMapping => {
    if (!isObject(entry)) throw new FormatError(`map.mapping[${i}] must be an object`);
    const r = new FieldReader(entry, `map.mapping[${i}]`);
    const paths = r.stringArray('paths');
    const repos = r.stringArray('repositories');
    const threshold = r.has('threshold') ? r.integer('threshold', 1) : 1;
    const terminating = r.has('terminating') ? r.boolean('terminating') : false;
    for (const name of repos) {
      if (!Object.hasOwn(repositories, name)) {
        throw new FormatError(
          `map.mapping[${i}] names repository "${name}", which map.repositories lacks`,
        );
      }
    }
    if (
      !repos.includes(DIRECTOR_REPOSITORY) ||
      !repos.includes(IMAGE_REPOSITORY) ||
      threshold < 2 ||
      threshold > repos.length
    ) {
      throw new FormatError(
        `map.mapping[${i}] must require both "${DIRECTOR_REPOSITORY}" and "${IMAGE_REPOSITORY}" (threshold 2): a weaker mapping lets one compromised repository install software`,
      );
    }
    return { paths, repositories: repos, threshold, terminating };
  });
  return { repositories, mapping };
}

/** The mapping that decides for `targetPath`, or `undefined` when none matches. */
export function mappingFor(map: RepositoryMap, targetPath: string): RepositoryMapping | undefined {
  return map.mapping.find((m) => m.paths.some((p) => globToRegExp(p).test(targetPath)));
}
