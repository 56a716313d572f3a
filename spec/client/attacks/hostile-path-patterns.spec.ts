/**
 * A delegation whose path pattern is built to make a backtracking matcher take exponential time
 * (`apps/*?*?…*#`, issue 9: 15 s at 12 pairs, doubling per pair) must not freeze the event loop
 * during a lookup. With the linear matcher this lookup is instant; with the former regex it would
 * not finish (vitest cannot interrupt synchronous code, so a regression hangs this file).
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { mustGetTarget, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

describe('hostile delegation path patterns', () => {
  it('getTargetInfo passes a 40-pair "*?" pattern and still finds targets of other roles', async () => {
    const sim = await RepositorySimulator.create();
    await sim.delegate('targets', 'hostile', { paths: [`apps/${'*?'.repeat(40)}*#`] });
    await sim.delegate('targets', 'honest', { paths: ['apps/*'] });
    const path = `apps/${'a'.repeat(120)}`;
    sim.addTarget('honest', utf8('app'), path);
    sim.targets.version += 1;
    await sim.updateSnapshot();
    const device = await createDevice(sim);
    const updater = await device.refresh();
    const info = await mustGetTarget(updater, path);
    expect(info.length).toBe(3);
    // The hostile role was not even loaded: its pattern does not match.
    expect(sim.requestedDelegatedRoles()).toEqual(['honest']);
  });
});
