/**
 * `UpdateAgent.close()` and `createAgent`'s ownership of the `HttpFetcher` it builds: after
 * `close()` the fetcher's keep-alive sockets are gone (seen from a real HTTP server on
 * 127.0.0.1) and further calls are refused.
 */
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_LOCK_FILE, UpdateAgent } from '../../src/device/agent.js';
import { createAgent } from '../../src/device/index.js';
import { FsMetadataStore } from '../../src/storage/fs-metadata-store.js';
import { RepositorySimulator } from '../../src/testing/index.js';
import { type DeviceRig, MemorySource, makeDeviceRig, wrapSlots } from './agent-helpers.js';

let dev: DeviceRig;
beforeEach(async () => {
  dev = await makeDeviceRig();
});
afterEach(async () => {
  await dev.cleanup();
});

describe('createAgent({ client }) and close()', () => {
  let server: Server;
  let sockets: Set<Socket>;
  let requests: string[];
  beforeEach(async () => {
    sockets = new Set();
    requests = [];
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    });
    // Longer than the test: only the client closing can end these connections.
    server.keepAliveTimeout = 600_000;
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterEach(async () => {
    server.closeAllConnections();
    server.close();
  });

  it('closes the HttpFetcher it built, and refuses calls afterwards', async () => {
    const sim = await RepositorySimulator.create();
    const metadataDir = path.join(dev.dir, 'metadata');
    await FsMetadataStore.init(metadataDir, sim.signedRoots[0] as Uint8Array);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = await createAgent({
      slots: dev.slots,
      hardwareId: 'board-1',
      stateDir: dev.stateDir,
      client: {
        metadataDir,
        metadataBaseUrl: `${base}/metadata/`,
        targetBaseUrl: `${base}/targets/`,
        http: { keepAliveTimeoutMs: 600_000, retries: 0 },
      },
      reboot: async () => {},
    });
    // The refresh reaches the server (and fails: it has no metadata), leaving pooled sockets.
    await expect(agent.checkAndInstall('fw.img')).rejects.toHaveProperty('code');
    expect(requests.length).toBeGreaterThan(0);
    const open = [...sockets];
    expect(open.length).toBeGreaterThan(0);
    const closed = Promise.all(open.map((s) => (s.destroyed ? undefined : once(s, 'close'))));

    await agent.close();
    // Without ownership the sockets would stay open for the server's 10-minute keep-alive.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('sockets still open 10 s after close()')), 10_000);
    });
    await Promise.race([closed, deadline]).finally(() => clearTimeout(timer));
    expect(sockets.size).toBe(0);
    await agent.close(); // idempotent
    await expect(agent.resume()).rejects.toMatchObject({ code: 'ERR_TUF_INVALID_STATE' });
    await expect(agent.checkAndInstall('fw.img')).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });
});

describe('UpdateAgent.close()', () => {
  it('waits for the call in progress, then closes every resource in order and rethrows the first failure', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const agent = await UpdateAgent.create({
      // resume() is held inside bootedSlot() until the gate opens.
      slots: wrapSlots(dev.slots, {
        bootedSlot: async () => {
          order.push('resume running');
          await gate;
          return dev.slots.bootedSlot();
        },
      }),
      updater: new MemorySource(),
      hardwareId: 'board-1',
      stateDir: dev.stateDir,
      resources: [
        {
          close: async () => {
            order.push('first closed');
            throw new Error('first failed');
          },
        },
        { close: () => void order.push('second closed') },
      ],
    });
    const resumed = agent.resume();
    const closing = agent.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['resume running']); // nothing closed under the running call
    release();
    await expect(resumed).resolves.toMatchObject({ outcome: 'idle' });
    await expect(closing).rejects.toThrow('first failed');
    expect(order).toEqual(['resume running', 'first closed', 'second closed']);
    expect(agent.close()).toBe(closing); // idempotent: the same settled promise
    await closing.catch(() => {});
  });

  it('does not close what it was merely given', async () => {
    let closes = 0;
    const updater = Object.assign(new MemorySource(), { close: async () => void closes++ });
    const agent = await UpdateAgent.create({
      slots: dev.slots,
      updater,
      hardwareId: 'board-1',
      stateDir: dev.stateDir,
    });
    await agent.close();
    expect(closes).toBe(0);
  });
});

describe('one agent per state directory', () => {
  const open = (purpose?: string) =>
    UpdateAgent.create({
      slots: dev.slots,
      updater: new MemorySource(),
      hardwareId: 'board-1',
      stateDir: dev.stateDir,
      ...(purpose !== undefined ? { lockPurpose: purpose } : {}),
    });

  it('refuses a second agent with ERR_TUF_LOCKED naming the first; close() frees the directory', async () => {
    const first = await open('tufota-agent daemon');
    await expect(open()).rejects.toMatchObject({
      code: 'ERR_TUF_LOCKED',
      holderPid: process.pid,
      message: expect.stringContaining(`is in use by tufota-agent daemon (pid ${process.pid}`),
    });
    expect(await fs.readdir(dev.stateDir)).toContain(AGENT_LOCK_FILE);
    await first.close();
    expect(await fs.readdir(dev.stateDir)).not.toContain(AGENT_LOCK_FILE);
    await (await open()).close();
  });

  it('releases the lock even when another resource fails to close', async () => {
    const agent = await UpdateAgent.create({
      slots: dev.slots,
      updater: new MemorySource(),
      hardwareId: 'board-1',
      stateDir: dev.stateDir,
      resources: [{ close: () => Promise.reject(new Error('pool stuck')) }],
    });
    await expect(agent.close()).rejects.toThrow('pool stuck');
    await (await open()).close();
  });
});
