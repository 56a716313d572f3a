// The device side of the fault-injection suite, run as a child process the parent SIGKILLs.
// It imports the COMPILED library (the parent compiles src/ into a scratch directory first,
// since plain node cannot load .ts) and runs what a real agent runs on every start:
// resume() the journal, then install the update if none was ever attempted.
//
// Protocol on stdout, one line each, written synchronously so the parent sees them at once:
//   STEP <index> <name> [<byte>]       every DEVICE_CHANNELS.step boundary of this run
//   KILLME                             this run reached its kill point and now blocks
//   REBOOT                             the agent called reboot(): the process "goes down"
//   DONE <json>                        the run ended without rebooting
// Configuration: JSON in TUFOTA_FI_CONFIG.
import { subscribe } from 'node:diagnostics_channel';
import { createReadStream, writeSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.env.TUFOTA_FI_CONFIG ?? '{}');
const lib = (p) => import(pathToFileURL(path.join(config.libRoot, p)).href);
// The modules a device agent needs, not the whole `tufota/device` entry (which also wires the
// HTTP client): this process starts dozens of times.
const [{ UpdateAgent }, { FileSlotController }, { DEVICE_CHANNELS }, { TargetFile }] =
  await Promise.all([
    lib('src/device/agent.js'),
    lib('src/device/slots/file-slot.js'),
    lib('src/device/reporter.js'),
    lib('src/models/index.js'),
  ]);

const say = (line) => writeSync(1, `${line}\n`);
const block = () => {
  say('KILLME');
  // Freeze right here (no event-loop turn, no further I/O) until the parent's SIGKILL lands.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
  process.exit(99);
};

let index = 0;
let killedAtByte = false;
subscribe(DEVICE_CHANNELS.step, (message) => {
  const { step, position, length, offset } = message;
  const at = position ?? offset;
  say(`STEP ${index} ${step}${at === undefined ? '' : ` ${at}`}`);
  if (config.killStep === index) block();
  if (
    step === 'block' &&
    config.killByte !== undefined &&
    !killedAtByte &&
    position + length >= config.killByte
  ) {
    killedAtByte = true;
    if (config.pauseAtByte) block();
    else say('KILLME'); // free-running: the kill lands wherever the agent is by then
  }
  index++;
});

const info = new TargetFile(
  config.targetPath,
  config.length,
  { sha256: config.sha256 },
  config.custom,
);
/** A verified source over a local file: honours offsets like a 206 response. */
const source = {
  refresh: async () => {},
  getTargetInfo: async (p) => (p === info.path ? info : undefined),
  openTarget: async (_info, { offset = 0 }) => {
    const stream = createReadStream(config.imagePath, { start: offset, highWaterMark: 48 * 1024 });
    return { offset, stream: Object.assign(stream, { cancel: () => stream.destroy() }) };
  },
};

const slots = await FileSlotController.create({
  envPath: config.envPath,
  slotDevices: config.slotDevices,
  evidence: { cmdlinePath: config.cmdlinePath, mountInfoPath: null },
});
const healthChecks =
  config.health === 'fail'
    ? [{ name: 'app', run: async () => Promise.reject(new Error('app does not start')) }]
    : [{ name: 'app', run: async () => {} }];
const agent = await UpdateAgent.create({
  slots,
  updater: source,
  hardwareId: 'board-1',
  stateDir: config.stateDir,
  healthChecks,
  tuning: config.tuning,
  reboot: async () => {
    say('REBOOT');
    process.exit(0);
  },
});

const resumed = await agent.resume();
let installed;
if ((await agent.state()).journal === undefined) {
  installed = await agent.checkAndInstall(info.path);
}
say(`DONE ${JSON.stringify({ resumed: resumed.outcome, installed: installed?.outcome })}`);
