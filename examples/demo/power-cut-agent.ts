/**
 * The agent process of the power-cut scenario: started by `power-cut.ts`, it runs what a
 * device's update service runs — `resume()`, then `checkAndInstall(target)` — and, when the
 * image write passes the configured byte, announces `POWER-CUT` and freezes so that the parent's
 * SIGKILL lands mid-write, exactly there: no `finally` block, no flush, no journal update runs.
 *
 * Protocol on stdout, one line each, written synchronously:
 *   STEP <json>     every agent step event (`DEVICE_CHANNELS.step`)
 *   POWER-CUT       the write reached the cut point; the process now waits to be killed
 *   REBOOT          the agent asked for a reboot (the cut point was never reached)
 *   DONE <json>     the install ended without a reboot
 * Configuration: JSON in the `TUFOTA_DEMO_AGENT` environment variable
 * (`{ deviceDir, serverUrl, targetPath, cutAtByte }`).
 *
 * @module
 */
import { writeSync } from 'node:fs';
import { subscribeAgentSteps } from './agent-steps.js';
import { deviceLayout, startAgent } from './device.js';

interface AgentConfig {
  deviceDir: string;
  serverUrl: string;
  targetPath: string;
  cutAtByte: number;
}

function readConfig(): AgentConfig {
  const raw = process.env.TUFOTA_DEMO_AGENT;
  if (raw === undefined) throw new Error('TUFOTA_DEMO_AGENT is not set: run the demo instead');
  const config = JSON.parse(raw) as Partial<AgentConfig>;
  if (
    typeof config.deviceDir !== 'string' ||
    typeof config.serverUrl !== 'string' ||
    typeof config.targetPath !== 'string' ||
    typeof config.cutAtByte !== 'number'
  ) {
    throw new Error('TUFOTA_DEMO_AGENT needs deviceDir, serverUrl, targetPath and cutAtByte');
  }
  return config as AgentConfig;
}

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};

async function main(): Promise<void> {
  const config = readConfig();
  let cut = false;
  subscribeAgentSteps((event) => {
    say(`STEP ${JSON.stringify(event)}`);
    const end = Number(event.position ?? 0) + Number(event.length ?? 0);
    if (event.step === 'block' && !cut && end >= config.cutAtByte) {
      cut = true;
      say('POWER-CUT');
      // Freeze here (no event-loop turn, no further I/O) until the SIGKILL lands.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
      process.exit(99);
    }
  });
  const session = await startAgent(deviceLayout(config.deviceDir), config.serverUrl, {
    reboot: async () => {
      say('REBOOT');
      process.exit(0);
    },
  });
  try {
    await session.agent.resume();
    const result = await session.agent.checkAndInstall(config.targetPath);
    say(`DONE ${JSON.stringify({ outcome: result.outcome })}`);
  } finally {
    await session.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
