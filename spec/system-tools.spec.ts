/**
 * The real-tool tests may skip outside CI only: these pin that rule, and that the README's one
 * install command and `.ci/run` name the same Debian packages as the tests' tool table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INSTALL_COMMAND, systemTools, TOOL_PACKAGES } from './helpers/system-tools.js';
import { PROJECT_ROOT } from './helpers/vectors.js';

const packages = [...new Set(Object.values(TOOL_PACKAGES))].sort();

describe('systemTools', () => {
  const saved = { ci: process.env.CI, path: process.env.PATH };
  afterEach(() => {
    process.env.CI = saved.ci;
    process.env.PATH = saved.path;
    if (saved.ci === undefined) delete process.env.CI;
    vi.restoreAllMocks();
  });

  it('outside CI, a missing tool skips and says why, with the install command', () => {
    delete process.env.CI;
    process.env.PATH = '/nonexistent';
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const check = systemTools('x.spec.ts', ['fw_setenv', 'grub-editenv']);
    expect(check).toEqual({ skip: true, missing: ['fw_setenv', 'grub-editenv'] });
    expect(String(warn.mock.calls[0]?.[0])).toMatch(
      /^SKIPPED x\.spec\.ts: fw_setenv, grub-editenv not found \(Debian package libubootenv-tool grub-common\); install them with: sudo apt-get/,
    );
  });

  it('under CI=true a missing tool never skips: the tests run and fail', () => {
    process.env.CI = 'true';
    process.env.PATH = '/nonexistent';
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(systemTools('x.spec.ts', ['mkenvimage'])).toEqual({
      skip: false,
      missing: ['mkenvimage'],
    });
    expect(String(error.mock.calls[0]?.[0])).toMatch(/mkenvimage not found.*CI=true/);
  });

  it('finds a tool on PATH', () => {
    delete process.env.CI;
    process.env.PATH = '/nonexistent::/bin:/usr/bin';
    // `sh` stands in for a present tool: the lookup is by name on PATH, not by package.
    expect(systemTools('x.spec.ts', ['sh' as 'fw_setenv'])).toEqual({ skip: false, missing: [] });
  });
});

describe('one list of packages', () => {
  it('the README install command names every package the tests need', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(INSTALL_COMMAND);
    expect(INSTALL_COMMAND.split(' ').slice(4).sort()).toEqual(packages);
  });

  it('.ci/run installs the same package for each tool', () => {
    const ci = readFileSync(join(PROJECT_ROOT, '.ci', 'run'), 'utf8');
    for (const [tool, pkg] of Object.entries(TOOL_PACKAGES)) {
      expect(ci).toContain(`[${tool}]=${pkg}`);
    }
  });
});
