/**
 * Peak resident set size of the current process, for benchmarks that compare memory.
 *
 * Not `process.resourceUsage().maxRSS`: on Linux, `ru_maxrss` survives `exec`, so a child
 * started by a large parent reports the parent's peak (a child printing 39 MiB of its own
 * reported 303 under a 300 MiB parent). `VmHWM` in `/proc/self/status` is the high-water mark
 * of the process's own memory. Other platforms fall back to `maxRSS`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/**
 * The process's peak RSS so far, in MiB.
 *
 * @example
 * ```ts
 * console.log(`peak RSS ${peakRssMiB().toFixed(0)} MiB`);
 * ```
 */
export function peakRssMiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match !== null) return Number(match[1]) / 1024;
  } catch {
    // No procfs: use the portable figure.
  }
  return process.resourceUsage().maxRSS / 1024;
}
