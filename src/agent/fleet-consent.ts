/**
 * `fleet.consentCommand`: the integrator's answer to "may this update (a deployment with
 * `updateControl: consent`) be installed now?", as a program the agent runs. The request goes to
 * it as one line of JSON on stdin (`{correlationId, deviceId, images: [{ecuSerial, targetPath,
 * length}]}`) and in the environment (`TUFOTA_CORRELATION_ID`, `TUFOTA_DEVICE_ID`,
 * `TUFOTA_TARGETS`: the target paths, space-separated). Exit status 0 is consent; any other
 * status, a signal, a program that cannot be started, or one still running after the timeout
 * (it is killed) is a no, and the primary defers the update to its next cycle.
 *
 * The program's stdout is discarded (the agent's own stdout is its JSON output); its stderr is
 * the agent's.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import type { ConsentCallback, ConsentRequest } from '../uptane/primary/primary.js';

/** A {@link ConsentCallback} that runs `command` for each request, bounded by `timeoutMs`. */
export function consentByCommand(command: readonly string[], timeoutMs: number): ConsentCallback {
  const [program, ...args] = command;
  if (program === undefined) throw new TypeError('consentByCommand needs a program');
  return (request: ConsentRequest) =>
    new Promise<boolean>((resolve) => {
      const child = spawn(program, args, {
        stdio: ['pipe', 'ignore', 'inherit'],
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        env: {
          ...process.env,
          TUFOTA_CORRELATION_ID: request.correlationId,
          TUFOTA_DEVICE_ID: request.deviceId,
          TUFOTA_TARGETS: request.images.map((i) => i.targetPath).join(' '),
        },
      });
      child.once('error', () => resolve(false));
      // 'exit', not 'close': a grandchild keeping a stream open must not stretch the wait.
      child.once('exit', (code, signal) => resolve(code === 0 && signal === null));
      // A program that answers without reading its stdin closes the pipe early (EPIPE).
      child.stdin?.on('error', () => {});
      child.stdin?.end(`${JSON.stringify(request)}\n`);
    });
}
