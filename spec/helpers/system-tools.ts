/**
 * Tests that drive real system tools (the bootloader environment tools, Chromium, from Debian's packages)
 * ask here whether those tools exist. Outside CI a missing tool skips those tests, and the reason
 * is printed once per file with the one command that installs the tools; under CI (`CI=true`) the
 * tests run anyway and fail, so a CI machine that lacks a tool can never pass by skipping.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each tool the suite drives for real, with the Debian 12 package that ships it. */
export const TOOL_PACKAGES = {
  fw_setenv: 'libubootenv-tool',
  fw_printenv: 'libubootenv-tool',
  mkenvimage: 'u-boot-tools',
  'grub-editenv': 'grub-common',
  // The dashboard's browser tests (spec/dashboard) drive Debian's Chromium with playwright-core.
  chromium: 'chromium',
  // The fleet server's device CA (`tufota server ca`) and the mTLS tests use the openssl CLI.
  openssl: 'openssl',
} as const;

export type SystemTool = keyof typeof TOOL_PACKAGES;

/** The command that installs every tool in {@link TOOL_PACKAGES} (also in the README). */
export const INSTALL_COMMAND =
  'sudo apt-get install -y libubootenv-tool u-boot-tools grub-common chromium openssl';

function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export interface ToolCheck {
  /** True when the tests that need the tools should be skipped (never under CI). */
  readonly skip: boolean;
  /** The tools that are missing, empty when all are present. */
  readonly missing: readonly SystemTool[];
}

/**
 * Check `tools` for the spec file named `file`; print why its real-tool tests are skipped, or
 * (under CI) that they will fail.
 */
export function systemTools(file: string, tools: readonly SystemTool[]): ToolCheck {
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length === 0) return { skip: false, missing };
  const packages = [...new Set(missing.map((tool) => TOOL_PACKAGES[tool]))].join(' ');
  const what = `${file}: ${missing.join(', ')} not found (Debian package ${packages})`;
  if (process.env.CI === 'true') {
    console.error(`${what}: CI=true, so the tests that need them run and fail`);
    return { skip: false, missing };
  }
  console.warn(`SKIPPED ${what}; install them with: ${INSTALL_COMMAND}`);
  return { skip: true, missing };
}
