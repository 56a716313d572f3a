/**
 * Delegation graphs as data (TUF 5.6.7): pre-order depth-first search in listed order, stop
 * below a matching terminating role, never revisit a role on the path (cycles), visit at most
 * `maxDelegations` roles, thresholds above one, path hash prefixes and TAP 15 succinct hash bins,
 * and the rule python-tuf and tuf-js get wrong: a role reached through several delegators is
 * verified against the delegator of the path being followed *now*.
 *
 * Each row builds a repository, refreshes, then looks up a path no role lists, which forces the
 * search through every matching role; the test asserts the exact order of delegated metadata
 * requests and which files were persisted.
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import {
  type Device,
  expectCode,
  expectNoTarget,
  mustGetTarget,
  useDevices,
  utf8,
} from '../../helpers/client-harness.js';

interface Delegation {
  delegator: string;
  name: string;
  paths?: string[];
  pathHashPrefixes?: string[];
  terminating?: boolean;
}

interface GraphCase {
  delegations: Delegation[];
  visited: string[];
  maxDelegations?: number;
}

const d = (delegator: string, name: string, extra: Partial<Delegation> = {}): Delegation => ({
  delegator,
  name,
  ...extra,
});

// biome-ignore format: one row per line reads as the table it is
const graphs: Record<string, GraphCase> = {
  'basic delegation': { delegations: [d('targets', 'A')], visited: ['A'] },
  'single level': { delegations: [d('targets', 'A'), d('targets', 'B')], visited: ['A', 'B'] },
  'two levels': { delegations: [d('targets', 'A'), d('targets', 'B'), d('B', 'C')], visited: ['A', 'B', 'C'] },
  'two levels, depth first': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('A', 'C'), d('A', 'D')],
    visited: ['A', 'C', 'D', 'B'],
  },
  'three levels, depth first': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('A', 'C'), d('C', 'D')],
    visited: ['A', 'C', 'D', 'B'],
  },
  'four levels deep': {
    delegations: [d('targets', 'A'), d('A', 'B'), d('B', 'C'), d('C', 'D'), d('targets', 'E')],
    visited: ['A', 'B', 'C', 'D', 'E'],
  },
  'terminating at level two stops everything after it': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('A', 'C', { terminating: true }), d('A', 'D')],
    visited: ['A', 'C'],
  },
  'terminating still searches its own delegations': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('A', 'C', { terminating: true }), d('C', 'D')],
    visited: ['A', 'C', 'D'],
  },
  'terminating top-level delegation': {
    delegations: [d('targets', 'A', { terminating: true }), d('targets', 'B')],
    visited: ['A'],
  },
  'non-matching terminating delegation does not stop the search': {
    delegations: [d('targets', 'A', { terminating: true, paths: ['*.py'] }), d('targets', 'B')],
    visited: ['B'],
  },
  'branches whose paths do not match are skipped': {
    delegations: [d('targets', 'A', { paths: ['*.py'] }), d('targets', 'B'), d('A', 'C')],
    visited: ['B'],
  },
  'deeper branches whose paths do not match are skipped': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('A', 'C', { paths: ['*.py'] }), d('C', 'D')],
    visited: ['A', 'B'],
  },
  'cycle B → C → D → B': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('B', 'C'), d('C', 'D'), d('D', 'B')],
    visited: ['A', 'B', 'C', 'D'],
  },
  'self-delegation': { delegations: [d('targets', 'A'), d('A', 'A')], visited: ['A'] },
  'two roles delegating to a third: reached first through A': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('B', 'C'), d('A', 'C')],
    // C is searched again through B, re-verified from this session's bytes: not fetched twice.
    visited: ['A', 'C', 'B'],
  },
  'two roles delegating to a third: A does not match, reached through B': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('B', 'C'), d('A', 'C', { paths: ['*.py'] })],
    visited: ['A', 'B', 'C'],
  },
  'maxDelegations caps the roles visited': {
    delegations: [d('targets', 'A'), d('targets', 'B'), d('targets', 'C'), d('C', 'D'), d('C', 'E')],
    visited: ['A', 'B', 'C', 'D'],
    maxDelegations: 4,
  },
  'path hash prefixes': {
    delegations: [
      d('targets', 'role1', { pathHashPrefixes: ['8', '9', 'a', 'b'] }),
      d('targets', 'role2', { pathHashPrefixes: ['0', '1', '2', '3'] }),
      d('targets', 'role3', { pathHashPrefixes: ['c', 'd', 'e', 'f'] }),
    ],
    // sha256("missingpath") starts with 'a': only role1 is trusted for it.
    visited: ['role1'],
  },
};

const createDevice = useDevices();

async function build(delegations: Delegation[]): Promise<RepositorySimulator> {
  const sim = await RepositorySimulator.create();
  for (const del of delegations) {
    await sim.delegate(del.delegator, del.name, {
      paths: del.paths,
      pathHashPrefixes: del.pathHashPrefixes,
      terminating: del.terminating,
    });
  }
  await sim.updateSnapshot();
  return sim;
}

async function deviceFor(sim: RepositorySimulator, maxDelegations?: number): Promise<Device> {
  const device = await createDevice(
    sim,
    maxDelegations === undefined ? {} : { config: { maxDelegations } },
  );
  return device;
}

describe('delegation graph traversal', () => {
  for (const [name, graph] of Object.entries(graphs)) {
    it(name, async () => {
      const sim = await build(graph.delegations);
      const device = await deviceFor(sim, graph.maxDelegations);
      const updater = await device.refresh();
      sim.clearFetchLog();
      expect(device.memoryStore.roles()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
      await expectNoTarget(updater, 'missingpath');
      expect(sim.requestedDelegatedRoles()).toEqual(graph.visited);
      const persisted = [
        ...new Set(['root', 'snapshot', 'targets', 'timestamp', ...graph.visited]),
      ].sort();
      expect(device.memoryStore.roles()).toEqual(persisted);
    });
  }

  it('stops the search at a delegated role that does not verify, and does not persist it', async () => {
    const sim = await build([d('targets', 'invalid'), d('targets', 'B'), d('invalid', 'C')]);
    sim.clearSigners('invalid');
    const device = await deviceFor(sim);
    const updater = await device.refresh();
    sim.clearFetchLog();
    await expectCode(updater.getTargetInfo('missingpath'), 'ERR_TUF_UNSIGNED');
    expect(sim.requestedDelegatedRoles()).toEqual(['invalid']);
    expect(device.memoryStore.roles()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
  });
});

describe('target search', () => {
  //        targets
  // *.doc, *.md /   \ releases/*/*
  //            A     B
  //   releases/x/* /   \ releases/y/*.zip
  //               C     D
  async function tree() {
    const sim = await build([
      d('targets', 'A', { paths: ['*.doc', '*.md'] }),
      d('targets', 'B', { paths: ['releases/*/*'] }),
      d('B', 'C', { paths: ['releases/x/*'] }),
      d('B', 'D', { paths: ['releases/y/*.zip'] }),
    ]);
    sim.addTarget('targets', utf8('targetfile content'), 'targetfile');
    sim.addTarget('A', utf8('README by A'), 'README.md');
    sim.addTarget('C', utf8('x release by C'), 'releases/x/x_v1');
    sim.addTarget('D', utf8('y release by D'), 'releases/y/y_v1.zip');
    sim.addTarget('D', utf8('z release by D'), 'releases/z/z_v1.zip');
    sim.targets.version += 1;
    await sim.updateSnapshot();
    return sim;
  }

  // biome-ignore format: table
  const cases: [string, string, boolean, string[]][] = [
    ['no delegation needed', 'targetfile', true, []],
    ['path matches a wildcard', 'README.md', true, ['A']],
    ['two levels, x', 'releases/x/x_v1', true, ['B', 'C']],
    ['two levels, y', 'releases/y/y_v1.zip', true, ['B', 'D']],
    ['listed by a role not delegated for it along the chain', 'releases/z/z_v1.zip', false, ['B']],
  ];

  for (const [name, path, found, visited] of cases) {
    it(name, async () => {
      const sim = await tree();
      const device = await deviceFor(sim);
      const updater = await device.refresh();
      sim.clearFetchLog();
      const info = await updater.getTargetInfo(path);
      if (found) expect(info?.toJSON()).toEqual(sim.targetFiles.get(path)?.targetFile.toJSON());
      else expect(info).toBeUndefined();
      expect(sim.requestedDelegatedRoles()).toEqual(visited);
    });
  }
});

describe('thresholds above one', () => {
  it('accepts a 2-of-3 delegated role signed by two keys', async () => {
    const sim = await RepositorySimulator.create();
    const signers = await sim.delegate('targets', 'apps', {
      paths: ['apps/*'],
      keys: 3,
      threshold: 2,
    });
    sim.clearSigners('apps');
    sim.addSigner('apps', signers[0]!);
    sim.addSigner('apps', signers[2]!);
    sim.addTarget('apps', utf8('app'), 'apps/app.bin');
    await sim.updateSnapshot();
    const device = await deviceFor(sim);
    expect((await mustGetTarget(await device.refresh(), 'apps/app.bin')).length).toBe(3);
  });

  it('refuses a 2-of-3 delegated role signed by one key', async () => {
    const sim = await RepositorySimulator.create();
    const signers = await sim.delegate('targets', 'apps', {
      paths: ['apps/*'],
      keys: 3,
      threshold: 2,
    });
    sim.clearSigners('apps');
    sim.addSigner('apps', signers[1]!);
    await sim.updateSnapshot();
    const device = await deviceFor(sim);
    await expectCode((await device.refresh()).getTargetInfo('apps/app.bin'), 'ERR_TUF_UNSIGNED');
  });
});

describe('succinct hash bins (TAP 15)', () => {
  // Expected bins from sha256 of each path; the same cases python-tuf checks.
  // biome-ignore format: table
  const cases: [number, string, string][] = [
    [1, 'othermissingpath', 'delegated-0'],
    [1, 'missingpath', 'delegated-1'],
    [2, 'foo', 'delegated-0'],
    [2, 'doo', 'delegated-1'],
    [2, 'missingpath', 'delegated-2'],
    [2, 'bar', 'delegated-3'],
    [8, 'bar', 'delegated-fc'],
  ];

  for (const [bits, path, bin] of cases) {
    it(`${bits}-bit bins: ${path} is only looked up in ${bin}`, async () => {
      const sim = await RepositorySimulator.create();
      await sim.addSuccinctDelegation('targets', bits, 'delegated');
      await sim.updateSnapshot();
      const device = await deviceFor(sim);
      const updater = await device.refresh();
      sim.clearFetchLog();
      await expectNoTarget(updater, path);
      expect(sim.requestedDelegatedRoles()).toEqual([bin]);
      expect(device.memoryStore.roles()).toEqual(
        ['root', 'snapshot', 'targets', 'timestamp', bin].sort(),
      );
    });
  }

  it('finds a target in its bin', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addSuccinctDelegation('targets', 2, 'bin');
    sim.addTarget('bin-3', utf8('bar data'), 'bar');
    await sim.updateSnapshot();
    const device = await deviceFor(sim);
    expect((await mustGetTarget(await device.refresh(), 'bar')).length).toBe(8);
  });
});

describe('a role reached through two delegators', () => {
  /**
   * targets → A (a/*) → C with key kA; targets → B (*) → C with key kB. C is signed by kA only,
   * and lists a/file and b/file.
   */
  async function twoDelegators() {
    const sim = await RepositorySimulator.create();
    await sim.delegate('targets', 'A', { paths: ['a/*'] });
    await sim.delegate('targets', 'B', { paths: ['*/*'] });
    const [kA] = await sim.delegate('A', 'C', { paths: ['a/*'] });
    await sim.delegate('B', 'C', { paths: ['*/*'] });
    sim.clearSigners('C');
    sim.addSigner('C', kA!);
    sim.addTarget('C', utf8('a'), 'a/file');
    sim.addTarget('C', utf8('b'), 'b/file');
    await sim.updateSnapshot();
    const device = await deviceFor(sim);
    return { sim, device };
  }

  it('accepts C for a/file through A, whose key signed it', async () => {
    const { device } = await twoDelegators();
    expect((await mustGetTarget(await device.refresh(), 'a/file')).length).toBe(1);
  });

  it('refuses C through B even after it verified through A in the same session', async () => {
    const { sim, device } = await twoDelegators();
    const updater = await device.refresh();
    await mustGetTarget(updater, 'a/file');
    sim.clearFetchLog();
    // b/file: A is not delegated for it; B is, and B's key for C never signed C.
    await expectCode(updater.getTargetInfo('b/file'), 'ERR_TUF_UNSIGNED');
  });

  it('refuses C through B when the only copy of C is the cached one verified through A', async () => {
    const { device } = await twoDelegators();
    await mustGetTarget(await device.refresh(), 'a/file');
    const restarted = await device.refresh();
    await expectCode(restarted.getTargetInfo('b/file'), 'ERR_TUF_UNSIGNED');
  });
});

describe('role names that are not safe file names', () => {
  it('percent-encodes them in URLs and in the store', async () => {
    const names = ['../a', '.', '/', 'ö', '%2F', 'a b'];
    const sim = await RepositorySimulator.create();
    for (const name of names) await sim.delegate('targets', name);
    await sim.updateSnapshot();
    const device = await deviceFor(sim);
    const updater = await device.refresh();
    sim.clearFetchLog();
    await expectNoTarget(updater, 'anything');
    expect(sim.requestedMetadata()).toEqual([
      '1...%2Fa.json',
      '1...json',
      '1.%2F.json',
      '1.%C3%B6.json',
      '1.%252F.json',
      '1.a%20b.json',
    ]);
    expect(sim.requestedDelegatedRoles()).toEqual(names);
  });
});
