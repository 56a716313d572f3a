/**
 * The `tufota-agent` configuration: defaults, and every invalid field refused with its name in
 * the message (a table of mistakes); the daemon's poll delay (jitter, exponential back-off, cap).
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config.js';
import { nextDelaySeconds } from '../../src/agent/daemon.js';

const minimal = {
  hardwareId: 'board-1',
  trustedRoot: '/etc/tufota/root.json',
  server: { url: 'https://updates.example.com' },
  target: 'firmware/board-1/',
  slots: { type: 'file', devices: { A: '/dev/a', B: '/dev/b' }, envPath: '/boot/env.json' },
};

describe('parseAgentConfig', () => {
  it('applies the defaults', () => {
    expect(parseAgentConfig(minimal)).toMatchObject({
      stateDir: '/var/lib/tufota/agent',
      metadataDir: '/var/lib/tufota/agent/metadata',
      server: {
        metadataUrl: 'https://updates.example.com/metadata/',
        targetsUrl: 'https://updates.example.com/targets/',
      },
      tries: 1,
      healthChecks: [],
      poll: { intervalSeconds: 3600, jitterSeconds: 360, maxBackoffSeconds: 21600 },
      updateControl: { mode: 'automatic' },
      rebootCommand: ['systemctl', 'reboot'],
    });
  });

  it.each([
    [{ hardwareId: undefined }, 'config hardwareId: is required'],
    [{ hardwareId: 7 }, 'config hardwareId: expected a non-empty string'],
    [{ hardwareID: 'x' }, 'config hardwareID: unknown field'],
    [{ server: { url: 'ftp://x' } }, 'config server.url: expected an http: or https: URL'],
    [{ server: { url: 'not a url' } }, 'config server.url: not a URL'],
    [{ server: { url: 'https://x', metadataUrl: 'https://y' } }, 'config server.url: give either'],
    [
      { server: { url: 'https://x', cert: '/c.pem' } },
      'config server.key: cert and key go together',
    ],
    [{ slots: { ...minimal.slots, type: 'lilo' } }, 'config slots.type: expected "file"'],
    [
      { slots: { type: 'uboot-rauc', devices: { A: 'a', B: 'b' }, envCanary: 'yes' } },
      'config slots.envCanary: expected true or false',
    ],
    [
      { slots: { ...minimal.slots, envCanary: true } },
      'config slots.envCanary: not used by type "file"',
    ],
    [
      { slots: { ...minimal.slots, devices: { A: '/dev/a' } } },
      'config slots.devices.B: is required',
    ],
    [
      { slots: { ...minimal.slots, grubenvPath: '/boot/grubenv' } },
      'config slots.grubenvPath: not used by type "file"',
    ],
    [
      { slots: { type: 'grub', devices: { A: 'a', B: 'b' } } },
      'config slots.grubenvPath: is required',
    ],
    [{ tries: 0 }, 'config tries: expected an integer from 1'],
    [{ healthChecks: {} }, 'config healthChecks: expected an array'],
    [{ healthChecks: [{ name: 'x' }] }, 'config healthChecks[0]: expected exactly one of command'],
    [
      { healthChecks: [{ command: 'true' }] },
      'config healthChecks[0].command: expected a non-empty array',
    ],
    [
      { healthChecks: [{ systemdUnit: 'a', when: 'sometimes' }] },
      'config healthChecks[0].when: expected',
    ],
    [{ poll: { intervalSeconds: 0 } }, 'config poll.intervalSeconds: expected an integer from 1'],
    [{ poll: { jitter: 5 } }, 'config poll.jitter: unknown field'],
    [
      { updateControl: { mode: 'consent' } },
      'config updateControl: mode "consent" needs approvalFile',
    ],
    [
      { updateControl: { mode: 'manual' } },
      'config updateControl.mode: expected "automatic" or "consent"',
    ],
    [
      { updateControl: { mode: 'automatic', approvalFile: '/x' } },
      'config updateControl: approvalFile and approvalCommand need',
    ],
    [{ rebootCommand: [] }, 'config rebootCommand: expected a non-empty array'],
    [{ tuning: { blockSize: 70000 } }, 'config tuning.blockSize: expected a multiple of 4096'],
    [{ reportUrl: 'mailto:x' }, 'config reportUrl: expected an http: or https: URL'],
  ])('%j is refused naming the field', (change, message) => {
    const config = { ...minimal, ...change } as Record<string, unknown>;
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete config[k];
    expect(() => parseAgentConfig(config)).toThrowError(
      expect.objectContaining({ code: 'ERR_TUF_USAGE', message: expect.stringContaining(message) }),
    );
  });

  it('accepts every slot type and health-check kind', () => {
    for (const slots of [
      { type: 'grub', devices: { A: 'a', B: 'b' }, grubenvPath: '/boot/grub/grubenv' },
      { type: 'uboot-mender', devices: { A: 'a', B: 'b' } },
      {
        type: 'uboot-rauc',
        devices: { A: 'a', B: 'b' },
        fwEnvConfig: '/etc/fw_env.config',
        cmdlinePath: '/proc/cmdline',
        envCanary: true,
      },
    ]) {
      expect(parseAgentConfig({ ...minimal, slots }).slots.type).toBe(slots.type);
    }
    const config = parseAgentConfig({
      ...minimal,
      healthChecks: [
        { command: ['/usr/bin/app', '--self-test'], timeoutMs: 5000 },
        { systemdUnit: 'app.service', when: 'trial' },
        { httpProbe: 'http://127.0.0.1:8080/health', name: 'app http' },
      ],
      updateControl: { mode: 'consent', approvalCommand: ['/usr/bin/ask-user'] },
    });
    expect(config.healthChecks).toHaveLength(3);
    expect(config.updateControl).toEqual({
      mode: 'consent',
      approvalCommand: ['/usr/bin/ask-user'],
    });
  });
});

describe('nextDelaySeconds', () => {
  const poll = { intervalSeconds: 60, jitterSeconds: 30, maxBackoffSeconds: 600 };
  it('is the interval plus a random share of the jitter when healthy', () => {
    expect(nextDelaySeconds(poll, 0, () => 0)).toBe(60);
    expect(nextDelaySeconds(poll, 0, () => 0.5)).toBe(75);
  });
  it('doubles per consecutive failure, capped by maxBackoffSeconds', () => {
    expect(nextDelaySeconds(poll, 1, () => 0)).toBe(120);
    expect(nextDelaySeconds(poll, 2, () => 0)).toBe(240);
    expect(nextDelaySeconds(poll, 3, () => 0)).toBe(480);
    expect(nextDelaySeconds(poll, 4, () => 0)).toBe(600);
    expect(nextDelaySeconds(poll, 1000, () => 0.99)).toBe(600);
  });
});

describe('what ships', () => {
  const root = path.resolve(import.meta.dirname, '..', '..');

  it("the integrator guide's configuration example is valid", async () => {
    const guide = await readFile(path.join(root, 'docs', 'integrator-guide.md'), 'utf8');
    const section = guide.slice(guide.indexOf('### Configuration: `/etc/tufota/agent.json`'));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const config = parseAgentConfig(JSON.parse(block as string));
    expect(config.slots).toMatchObject({ type: 'uboot-mender', envCanary: true });
    expect(config.healthChecks).toHaveLength(3);
  });

  it('package.json ships the bin and the systemd units, whose ExecStart runs it', async () => {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.bin['tufota-agent']).toBe('dist/src/agent/main.js');
    expect(pkg.files).toContain('dist/systemd');
    expect(pkg.scripts.build).toContain("'systemd','dist/systemd'");
    const daemon = await readFile(path.join(root, 'systemd', 'tufota-agent.service'), 'utf8');
    expect(daemon).toMatch(/^ExecStart=\S*tufota-agent daemon /m);
    expect(daemon).toMatch(/^Type=notify$/m);
    expect(daemon).toMatch(/^NoNewPrivileges=yes$/m);
    expect(daemon).toMatch(/^RestartPreventExitStatus=2 3$/m);
    const resume = await readFile(
      path.join(root, 'systemd', 'tufota-agent-resume.service'),
      'utf8',
    );
    expect(resume).toMatch(/^ExecStart=\S*tufota-agent resume /m);
    expect(resume).toMatch(/^Type=oneshot$/m);
  });
});
