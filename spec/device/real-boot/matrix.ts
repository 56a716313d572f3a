/**
 * The real-boot matrix: one row per scenario × bootloader profile with the slot sequence the
 * scenario expects, the one the controller predicted (`status().nextBoot` before each power-on)
 * and the one the real bootloader booted. Printed as a Markdown table after each spec file, the
 * same table as in docs/integrator-guide.md.
 */
import type { SlotName } from '../../../src/device/slot-controller.js';
import type { BootRecord, RealBoard } from './board.js';

export interface MatrixRow {
  scenario: string;
  profile: string;
  expected: string;
  predicted: string;
  booted: string;
  /** The scenario threw before it finished (its assertions, or a boot that went wrong). */
  error: boolean;
  /** A wrong prediction the controller itself reported (the canary's error code). */
  detected: string | undefined;
  ms: number;
}

const rows: MatrixRow[] = [];
let latest: Trace | undefined;

/** The trace a scenario on `board` made last (to show how far a failed scenario got). */
export function latestTrace(board: RealBoard): Trace {
  return latest?.board === board ? latest : new Trace(board);
}

/** Boots of one scenario: what the controller predicted and what the bootloader did. */
export class Trace {
  readonly predicted: SlotName[] = [];
  readonly booted: SlotName[] = [];
  ms = 0;

  constructor(readonly board: RealBoard) {
    latest = this;
  }

  /** Ask the controller where the next boot goes, then power on. */
  async boot(): Promise<BootRecord> {
    const status = await this.board.controller.status();
    this.predicted.push(status.nextBoot);
    const record = await this.board.powerOn();
    this.booted.push(record.slot);
    this.ms += record.ms;
    return record;
  }
}

/** Record a scenario for the table; `expected` is `undefined` if it threw before the end. */
export function record(
  scenario: string,
  trace: Trace,
  expected: readonly SlotName[] | undefined,
  detected?: string,
): void {
  rows.push({
    scenario,
    profile: trace.board.profile,
    expected: expected?.join(' ') ?? '',
    error: expected === undefined,
    detected,
    predicted: trace.predicted.join(' '),
    booted: trace.booted.join(' '),
    ms: trace.ms,
  });
}

/** The table so far, as Markdown. */
export function matrixTable(): string {
  const lines = [
    '| scenario | profile | expected | controller predicted | booted | result |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const ok =
      !r.error && r.expected === r.booted && (r.predicted === r.booted || r.detected !== undefined);
    const verdict = ok
      ? r.detected
        ? `ok, detected: ${r.detected}`
        : 'ok'
      : r.error
        ? 'FAIL (error)'
        : 'FAIL';
    lines.push(
      `| ${r.scenario} | ${r.profile} | ${r.expected} | ${r.predicted} | ${r.booted} | ${verdict} |`,
    );
  }
  const boots = rows.reduce((n, r) => n + (r.booted === '' ? 0 : r.booted.split(' ').length), 0);
  const seconds = rows.reduce((n, r) => n + r.ms, 0) / 1000;
  lines.push('', `${rows.length} scenarios, ${boots} real boots, ${seconds.toFixed(1)} s in QEMU`);
  return lines.join('\n');
}
