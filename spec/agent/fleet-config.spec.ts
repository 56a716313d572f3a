/**
 * The `fleet` section of the `tufota-agent` configuration: defaults, the derived server URLs,
 * paths resolved against the file's directory, and every invalid field refused with its name (a
 * table of mistakes).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, parseAgentConfig } from '../../src/agent/config.js';

const fleet = {
  url: 'https://fleet.example.com:8443',
  deviceId: 'vin-1',
  ecuSerial: 'gw-1',
  directorRoot: '/etc/tufota/director-root.json',
  imageRoot: '/etc/tufota/image-root.json',
  provisioning: { mode: 'device-key' },
};
const minimal = {
  hardwareId: 'gateway',
  slots: { type: 'file', devices: { A: '/dev/a', B: '/dev/b' }, envPath: '/boot/env.json' },
  fleet,
};

describe('parseAgentConfig: fleet section', () => {
  it('applies the defaults and derives the image repository URLs', () => {
    const config = parseAgentConfig(minimal);
    expect(config.fleet).toEqual({
      ...fleet,
      url: 'https://fleet.example.com:8443/',
      ecuKey: '/var/lib/tufota/agent/ecu-key.pem',
      secondaries: [],
      healthCheck: true,
      timeoutMs: 30_000,
      consentTimeoutMs: 60_000,
    });
    expect(config.fleet).not.toHaveProperty('consentCommand');
    expect(config.server).toEqual({
      metadataUrl: 'https://fleet.example.com:8443/repo/metadata/',
      targetsUrl: 'https://fleet.example.com:8443/repo/targets/',
    });
    expect(config.trustedRoot).toBe(fleet.imageRoot);
    expect(config.target).toBe('');
  });

  it('takes every provisioning mode with its files', () => {
    const mtls = parseAgentConfig({
      ...minimal,
      fleet: {
        ...fleet,
        ca: '/etc/tufota/server-ca.pem',
        provisioning: { mode: 'mtls', cert: '/etc/tufota/dev.pem', key: '/etc/tufota/dev.key' },
        model: 'gw-200',
        hardwareRevision: '3',
        attributes: { site: 'oslo' },
        secondaries: ['http://10.0.0.7:9000'],
        healthCheck: false,
        timeoutMs: 5000,
        consentCommand: ['/usr/libexec/ask-driver', '--screen', 'main'],
        consentTimeoutMs: 120_000,
      },
    });
    expect(mtls.fleet).toMatchObject({
      consentCommand: ['/usr/libexec/ask-driver', '--screen', 'main'],
      consentTimeoutMs: 120_000,
      provisioning: { mode: 'mtls', cert: '/etc/tufota/dev.pem', key: '/etc/tufota/dev.key' },
      attributes: { site: 'oslo' },
      secondaries: ['http://10.0.0.7:9000'],
      healthCheck: false,
      timeoutMs: 5000,
    });
    expect(mtls.server.ca).toBe('/etc/tufota/server-ca.pem');
    expect(
      parseAgentConfig({ ...minimal, fleet: { ...fleet, provisioning: { mode: 'manual' } } }).fleet
        ?.provisioning,
    ).toEqual({ mode: 'manual' });
    expect(
      parseAgentConfig({
        ...minimal,
        fleet: { ...fleet, provisioning: { mode: 'shared-key', secretFile: '/etc/s' } },
      }).fleet?.provisioning,
    ).toEqual({ mode: 'shared-key', secretFile: '/etc/s' });
  });

  const f = (over: Record<string, unknown>) => ({ ...minimal, fleet: { ...fleet, ...over } });
  it.each([
    [f({ url: undefined }), 'config fleet.url: is required'],
    [f({ url: 'ftp://x' }), 'config fleet.url: expected an http: or https: URL'],
    [f({ deviceId: '' }), 'config fleet.deviceId: expected a non-empty string'],
    [f({ deviceId: '../vin' }), 'config fleet.deviceId: expected 1-128 letters'],
    [f({ ecuSerial: undefined }), 'config fleet.ecuSerial: is required'],
    [f({ directorRoot: undefined }), 'config fleet.directorRoot: is required'],
    [f({ imageRoot: 5 }), 'config fleet.imageRoot: expected a non-empty string'],
    [f({ provisioning: undefined }), 'config fleet.provisioning: expected an object'],
    [f({ provisioning: { mode: 'psk' } }), 'config fleet.provisioning.mode: expected "mtls"'],
    [
      f({ url: 'https://x', provisioning: { mode: 'mtls', cert: '/c' } }),
      'config fleet.provisioning.key: is required',
    ],
    [
      f({ url: 'http://x', provisioning: { mode: 'mtls', cert: '/c', key: '/k' } }),
      'config fleet.url: mtls provisioning needs an https: URL',
    ],
    [
      f({ provisioning: { mode: 'device-key', secretFile: '/s' } }),
      'config fleet.provisioning.secretFile: not used by mode "device-key"',
    ],
    [
      f({ provisioning: { mode: 'shared-key' } }),
      'config fleet.provisioning.secretFile: is required',
    ],
    [f({ attributes: { site: 3 } }), 'config fleet.attributes.site: expected a non-empty string'],
    [f({ attributes: ['a'] }), 'config fleet.attributes: expected an object'],
    [f({ secondaries: 'http://x' }), 'config fleet.secondaries: expected an array'],
    [f({ secondaries: ['gopher://x'] }), 'config fleet.secondaries[0]: expected an http'],
    [f({ healthCheck: 'yes' }), 'config fleet.healthCheck: expected true or false'],
    [f({ timeoutMs: 0 }), 'config fleet.timeoutMs: expected an integer'],
    [f({ deviceID: 'x' }), 'config fleet.deviceID: unknown field'],
    [{ ...minimal, server: { url: 'https://x' } }, 'config server: not used with a fleet section'],
    [{ ...minimal, target: 'fw/' }, 'config target: not used with a fleet section'],
    [{ ...minimal, trustedRoot: '/r.json' }, 'config trustedRoot: not used with a fleet section'],
    [
      { ...minimal, updateControl: { mode: 'consent', approvalFile: '/a' } },
      'config updateControl.mode: not used in fleet mode: each deployment says whether the device asks for consent, and fleet.consentCommand answers',
    ],
    [f({ consentCommand: '/bin/ask' }), 'config fleet.consentCommand: expected a non-empty array'],
    [f({ consentCommand: [] }), 'config fleet.consentCommand: expected a non-empty array'],
    [f({ consentCommand: ['/bin/ask', ''] }), 'config fleet.consentCommand: expected a non-empty'],
    [f({ consentTimeoutMs: 50 }), 'config fleet.consentTimeoutMs: expected an integer from 100'],
    [f({ consentTimeoutMs: 1.5 }), 'config fleet.consentTimeoutMs: expected an integer'],
    [{ ...minimal, slots: undefined }, 'config slots: expected an object'],
  ])('refuses %j', (value, message) => {
    expect(() => parseAgentConfig(value)).toThrow(message as string);
    try {
      parseAgentConfig(value);
    } catch (error) {
      expect((error as { code: string }).code).toBe('ERR_TUF_USAGE');
    }
  });

  it('resolves the fleet paths against the configuration file’s directory', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-fleet-config-'));
    try {
      const file = path.join(dir, 'agent.json');
      await fs.writeFile(
        file,
        JSON.stringify({
          ...minimal,
          stateDir: './state',
          fleet: {
            ...fleet,
            directorRoot: 'director-root.json',
            imageRoot: 'image-root.json',
            ca: 'ca.pem',
            provisioning: { mode: 'shared-key', secretFile: 'fleet.secret' },
          },
        }),
      );
      const config = await loadAgentConfig(file);
      expect(config.fleet).toMatchObject({
        ecuKey: path.join(dir, 'state', 'ecu-key.pem'),
        directorRoot: path.join(dir, 'director-root.json'),
        imageRoot: path.join(dir, 'image-root.json'),
        ca: path.join(dir, 'ca.pem'),
        provisioning: { secretFile: path.join(dir, 'fleet.secret') },
      });
      expect(config.trustedRoot).toBe(path.join(dir, 'image-root.json'));
      expect(config.server.ca).toBe(path.join(dir, 'ca.pem'));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
