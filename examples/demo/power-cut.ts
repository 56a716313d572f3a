/**
 * A power cut in the middle of an image write, simulated as faithfully as a process can: the
 * agent runs in its own process (`power-cut-agent.ts`) and is killed with SIGKILL at a chosen
 * byte of the write — nothing in it gets to clean up, exactly as when the power goes. What was
 * made durable before (the journal, fsynced checkpoints, the boot environment) is all the next
 * boot finds. (Unlike a real power cut, data the kernel had not yet written back survives a
 * SIGKILL; the agent never relies on such data: it resumes only from checkpoints it fsynced.)
 *
 * The device's fault-injection suite (`spec/device/fault-injection/`) does the same at every
 * step boundary and many byte offsets; the demo shows one.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StepEvent } from './agent-steps.js';

/** Options of {@link runAgentUntilPowerCut}. */
export interface PowerCutOptions {
  deviceDir: string;
  serverUrl: string;
  targetPath: string;
  /** Cut the power once the write has reached this byte. */
  cutAtByte: number;
  /** Every step event of the agent process, as it happens. */
  onStep: (event: StepEvent) => void;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
}

/** How the agent process ended. */
export interface PowerCutResult {
  /** `true` if the process was killed at the cut point. */
  cut: boolean;
  /** Otherwise: `REBOOT` or `DONE …`, and what it wrote to stderr. */
  ending: string;
  stderr: string;
}

const AGENT = fileURLToPath(new URL('./power-cut-agent.js', import.meta.url));

/** Start the agent process and SIGKILL it when its write reaches `cutAtByte`. */
export function runAgentUntilPowerCut(options: PowerCutOptions): Promise<PowerCutResult> {
  const child = spawn(process.execPath, [AGENT], {
    env: {
      ...process.env,
      TUFOTA_DEMO_AGENT: JSON.stringify({
        deviceDir: options.deviceDir,
        serverUrl: options.serverUrl,
        targetPath: options.targetPath,
        cutAtByte: options.cutAtByte,
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffered = '';
  let stderr = '';
  let ending = '';
  let cutRequested = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line === 'POWER-CUT') {
        cutRequested = true;
        child.kill('SIGKILL');
      } else if (line.startsWith('STEP ')) {
        options.onStep(JSON.parse(line.slice(5)) as StepEvent);
      } else if (line === 'REBOOT' || line.startsWith('DONE ')) {
        ending = line;
      }
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ cut: cutRequested && signal === 'SIGKILL', ending, stderr });
    });
  });
}
