/**
 * `tufota verify`: check the whole repository as a client would and list every problem.
 *
 * @module
 */
import * as path from 'node:path';
import { type Command, flag, parseTime, stringOption } from '../args.js';
import { type Progress, printResult, progressBar } from '../io.js';
import { repoDirOf } from '../session.js';
import { verifyRepository } from '../verify-repository.js';

/** Exit code when verification found problems. */
export const VERIFY_PROBLEMS_EXIT = 3;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'walk the repository as a client would and report every problem (exit 3 if any)',
  usage: 'tufota verify [DIR] [--skip-targets] [--unsafe-reference-time TIME]',
  description: [
    'Checks the root chain, timestamp, snapshot, every targets role and delegation, and every',
    'target file (length and all hashes). Problems: missing, malformed, unsigned, expired,',
    'bad-version, length-or-hash-mismatch, not-listed. All are collected before exiting.',
  ].join('\n'),
  options: {
    'skip-targets': { type: 'boolean', description: 'do not hash target files' },
    'unsafe-reference-time': {
      type: 'string',
      valueName: 'TIME',
      description:
        'judge expiry at this ISO 8601 time instead of now (to see what expires by then)',
    },
  },
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const dir = repoDirOf(args, io, args.positionals[0]);
    const rawTime = stringOption(args, 'unsafe-reference-time');
    const referenceTime =
      rawTime === undefined ? new Date() : parseTime(rawTime, '--unsafe-reference-time');
    let bar: Progress | undefined;
    const report = await verifyRepository(dir, {
      referenceTime,
      checkTargets: !flag(args, 'skip-targets'),
      onTargetBytes: (event) => {
        if (event.total !== undefined) bar = progressBar(io, 'hashing targets', event.total);
        if (event.delta !== undefined) bar?.tick(event.delta);
      },
    });
    bar?.done();
    printResult(io, { repository: dir, ...report }, () =>
      [
        ...report.roles.map(
          (r) =>
            `${r.role.padEnd(12)} v${String(r.version).padEnd(5)} expires ${r.expires}  ${r.file}`,
        ),
        `${report.targets.checked} target(s), ${report.targets.files} file(s) hashed`,
        ...(report.ok
          ? [
              `OK: ${path.basename(dir)} verifies as a client would see it at ${report.referenceTime}`,
            ]
          : [
              `${report.problems.length} problem(s):`,
              ...report.problems.map((p) => `  [${p.kind}] ${p.message}`),
            ]),
      ].join('\n'),
    );
    return report.ok ? 0 : VERIFY_PROBLEMS_EXIT;
  },
};
