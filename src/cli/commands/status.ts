/**
 * `tufota status`: per role, the version publish would write or that is served, its expiry, and
 * the signatures present against each threshold it must meet, with the key ids still missing
 * and whether this machine's keyring holds them.
 *
 * @module
 */
import { type Command, flag } from '../args.js';
import { printResult } from '../io.js';
import { openRepository, openSession } from '../session.js';

/** Exit code of `status --check` when a role needs attention. */
export const STATUS_ATTENTION_EXIT = 3;

function relative(expires: Date, now: Date): string {
  const ms = expires.getTime() - now.getTime();
  const abs = Math.abs(ms);
  const text =
    abs >= 86_400_000
      ? `${Math.round(abs / 86_400_000)}d`
      : abs >= 3_600_000
        ? `${Math.round(abs / 3_600_000)}h`
        : `${Math.round(abs / 60_000)}m`;
  return ms < 0 ? `EXPIRED ${text} ago` : `in ${text}`;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show each role: version, expiry, signatures present vs threshold, what is missing',
  usage: 'tufota status [--check]',
  description: [
    'Staged roles (edits waiting for signatures or publish) are marked. Missing key ids are marked',
    '"keyring" when this machine can sign with them, "offline" otherwise.',
  ].join('\n'),
  options: {
    check: {
      type: 'boolean',
      description: `exit ${STATUS_ATTENTION_EXIT} when a staged role lacks signatures or a role has expired`,
    },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const now = new Date();
    const roles = repo.status().map((s) => ({
      role: s.role,
      delegator: s.delegator,
      version: s.version,
      expires: s.expires.toISOString(),
      expired: s.expires.getTime() <= now.getTime(),
      pending: s.pending,
      staged: s.staged,
      resign: s.resign,
      verified: s.verified,
      requirements: s.requirements.map((r) => ({
        label: r.label,
        threshold: r.threshold,
        signed: r.signed,
        missing: r.missing.map((keyid) => ({ keyid, inKeyring: session.signers.has(keyid) })),
      })),
    }));
    const attention = roles.filter((r) => r.expired || (r.pending && !r.verified));
    printResult(
      io,
      { repository: session.repoDir, roles, attention: attention.map((r) => r.role) },
      () => {
        const lines: string[] = [];
        for (const r of roles) {
          const state = r.pending
            ? r.verified
              ? 'staged, signed: ready to publish'
              : 'staged, needs signatures'
            : r.resign
              ? 'published; re-signed by the next publish'
              : 'published';
          lines.push(
            `${r.role.padEnd(12)} v${String(r.version).padEnd(5)} expires ${r.expires} (${relative(new Date(r.expires), now)})  ${state}`,
          );
          if (!r.pending && r.role !== 'root' && r.role !== 'targets' && r.delegator === 'root')
            continue;
          for (const q of r.requirements) {
            const ok = q.signed.length >= q.threshold;
            if (!r.pending && ok) continue;
            lines.push(
              `    ${q.label}: ${q.signed.length}/${q.threshold} signature(s)${ok ? '' : `; missing (any ${q.threshold - q.signed.length}): ${q.missing.map((m) => `${m.keyid} (${m.inKeyring ? 'keyring' : 'offline'})`).join(', ')}`}`,
            );
          }
        }
        return lines.join('\n');
      },
    );
    return flag(args, 'check') && attention.length > 0 ? STATUS_ATTENTION_EXIT : 0;
  },
};
