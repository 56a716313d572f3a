import { describe, expect, it } from 'vitest';
import { MemoryMetadataStore } from '../../src/client/index.js';

describe('MemoryMetadataStore', () => {
  it('starts from the given root and keeps copies, so later edits of a buffer change nothing', async () => {
    const root = Uint8Array.from([1, 2, 3]);
    const store = new MemoryMetadataStore({ root });
    root[0] = 9;
    expect(await store.load('root')).toEqual(Uint8Array.from([1, 2, 3]));
    const bytes = Uint8Array.from([4, 5]);
    await store.save('timestamp', bytes);
    bytes[0] = 0;
    expect(await store.load('timestamp')).toEqual(Uint8Array.from([4, 5]));
    expect(store.saves).toEqual(['timestamp']);
  });

  it('forgets a removed role and returns undefined for one never saved', async () => {
    const store = new MemoryMetadataStore();
    await store.save('snapshot', Uint8Array.from([1]));
    await store.remove('snapshot');
    await store.remove('snapshot');
    expect(await store.load('snapshot')).toBeUndefined();
    expect(await store.load('targets')).toBeUndefined();
  });
});
