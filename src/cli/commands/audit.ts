/**
 * `tufota audit verify --config FILE`: check the fleet server's audit log end to end.
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import { loadFleetConfig } from '../../server/fleet/config.js';
import { openConfiguredStore } from '../../server/fleet/open-store.js';
import { type AuditChainStart, verifyAuditChain } from '../../server/store/index.js';
import { type Command, stringOption } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import { printResult } from '../io.js';

/** Rows read per page. */
const PAGE = 1000;

export const auditCommand: Command = {
  name: 'audit',
  summary: "verify the fleet server's hash-chained audit log end to end",
  usage: 'tufota audit verify --config FILE',
  description: [
    "Recomputes every entry's hash and its link to the previous entry, from the first to the",
    'last, in pages. Exit 0 when the chain holds; exit 3 naming the first entry (seq) that was',
    'changed, removed, inserted or reordered.',
  ].join('\n'),
  options: {
    config: {
      type: 'string',
      short: 'c',
      valueName: 'FILE',
      description: 'server configuration file (default $TUFOTA_SERVER_CONFIG)',
    },
  },
  positionals: { min: 1, max: 1 },
  subcommands: ['verify'],
  async run(args, io) {
    const file = stringOption(args, 'config') ?? io.env.TUFOTA_SERVER_CONFIG;
    if (file === undefined) {
      throw new UsageError('tufota audit verify needs --config FILE (or $TUFOTA_SERVER_CONFIG)');
    }
    const config = await loadFleetConfig(file, io.env);
    const store = await openConfiguredStore(config);
    try {
      let start: AuditChainStart | undefined;
      let count = 0;
      for (;;) {
        const page = await store.listAudit({ afterSeq: start?.seq ?? 0, limit: PAGE });
        const result = verifyAuditChain(page, start === undefined ? {} : { start });
        if (!result.ok) {
          printResult(
            io,
            { ok: false, seq: result.seq, reason: result.reason, message: result.message },
            `audit log BROKEN at seq ${result.seq} (${result.reason}): ${result.message}`,
          );
          return ExitCode.problems;
        }
        count += result.count;
        if (result.head !== undefined) start = result.head;
        if (page.length < PAGE) break;
      }
      printResult(
        io,
        { ok: true, count, ...(start !== undefined ? { head: start } : {}) },
        `audit log intact: ${count} entries${start !== undefined ? `, head seq ${start.seq} ${start.hash}` : ''}`,
      );
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};
