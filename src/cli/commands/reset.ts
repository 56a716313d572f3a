/**
 * `tufota reset`: discard staged, unpublished edits (`.tufota/staging/`, the re-signing marks of
 * `refresh --stage-only`) and say what was discarded. The served repository is not touched.
 *
 * @module
 */
import type { DiscardedRole } from '../../repository/index.js';
import type { Command } from '../args.js';
import { printResult } from '../io.js';
import { openRepository, openSession } from '../session.js';

function describeRole(d: DiscardedRole): string {
  if (d.resign === true) return `${d.role}: re-signing mark (from refresh --stage-only)`;
  const parts = [
    ...d.added.map((p) => `+${p}`),
    ...d.removed.map((p) => `-${p}`),
    ...d.changed.map((p) => `~${p}`),
  ];
  const edits =
    parts.length === 0
      ? d.role === 'root'
        ? 'key or threshold changes'
        : 'delegation, key or expiry changes'
      : parts.length > 20
        ? `${parts.slice(0, 20).join(' ')} … (${parts.length} in all)`
        : parts.join(' ');
  return `${d.role} v${d.version}${d.staged ? '' : ' (not staged)'}, ${d.signatures} signature(s): ${edits}`;
}

export const resetCommand: Command = {
  name: 'reset',
  summary: 'discard staged, unpublished edits (the served repository is not touched)',
  usage: 'tufota reset',
  description: [
    'Removes every edit waiting in .tufota/staging/ (and the re-signing marks of refresh',
    '--stage-only), printing per role the targets added (+), removed (-) and changed (~).',
    'Signatures collected for those edits are lost. Target files already copied into targets/',
    'stay (unlisted, harmless). Nothing under metadata/ changes.',
  ].join('\n'),
  options: {},
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const discarded = await repo.reset();
    printResult(io, { discarded }, () =>
      discarded.length === 0
        ? 'nothing to discard: no staged edits'
        : ['discarded:', ...discarded.map((d) => `  ${describeRole(d)}`)].join('\n'),
    );
    return 0;
  },
};
