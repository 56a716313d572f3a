/**
 * `FleetReporter`: phase reports carry the director's correlation id; the log tail goes to the
 * logs endpoint (not inside events) on failures and at the end of an update; a sink that fails
 * or hangs never makes `report()` reject; events keep their order.
 */
import { describe, expect, it } from 'vitest';
import { type FleetEventSink, FleetReporter } from '../../src/agent/fleet-reporter.js';

function sink(fail = false) {
  const events: Record<string, unknown>[] = [];
  const logs: { correlationId: string; lines: readonly string[] }[] = [];
  const s: FleetEventSink = {
    postEvent: async (e) => {
      if (fail) throw new Error('server down');
      events.push(e);
    },
    postLogs: async (correlationId, lines) => {
      if (fail) throw new Error('server down');
      logs.push({ correlationId, lines });
    },
  };
  return { s, events, logs };
}

const target = { path: 'gw/fw-2.img', length: 10, hashes: { sha256: 'ab' } };

describe('FleetReporter', () => {
  it('posts each event with the correlation id, in order, without the log tail', async () => {
    const { s, events, logs } = sink();
    const r = new FleetReporter({ sink: s, correlationId: async () => 'campaign-2' });
    await Promise.all([
      r.report({ phase: 'writing', updateId: 'u1', target }),
      r.report({ phase: 'written', updateId: 'u1', target }),
    ]);
    expect(events.map((e) => [e.phase, e.correlationId])).toEqual([
      ['writing', 'campaign-2'],
      ['written', 'campaign-2'],
    ]);
    expect(logs).toEqual([]); // nothing failed, nothing ended
    await r.report({
      phase: 'failed',
      updateId: 'u1',
      result: 'failure',
      error: { code: 'ERR_TUF_SLOT', message: 'write failed' },
      logTail: ['12:00 the agent said this'],
    });
    expect(events.at(-1)).not.toHaveProperty('logTail');
    expect(logs).toHaveLength(1);
    expect(logs[0]?.correlationId).toBe('campaign-2');
    expect(logs[0]?.lines[0]).toBe('12:00 the agent said this');
    expect(logs[0]?.lines.join('\n')).toMatch(/phase=writing .*\n.*phase=written/);
    expect(logs[0]?.lines.at(-1)).toMatch(
      /phase=failed result=failure .*ERR_TUF_SLOT: write failed/,
    );
  });

  it('uploads the tail at a commit too, with the lines the program noted', async () => {
    const { s, logs } = sink();
    const r = new FleetReporter({ sink: s, correlationId: async () => undefined });
    r.note('resumed {"outcome":"committed"}');
    await r.report({ phase: 'committed', updateId: 'u9', result: 'success' });
    // Without a director correlation id, the agent's update id names the log.
    expect(logs[0]?.correlationId).toBe('u9');
    expect(logs[0]?.lines.join('\n')).toContain('resumed {"outcome":"committed"}');
  });

  it('never rejects when the server fails, nor when the correlation id cannot be read', async () => {
    const { s } = sink(true);
    const r = new FleetReporter({
      sink: s,
      correlationId: async () => {
        throw new Error('corrupt store');
      },
    });
    await expect(r.report({ phase: 'rolledBack', result: 'failure' })).resolves.toBeUndefined();
  });
});
