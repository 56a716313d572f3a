/** The audit log (`GET /audit`, admin only): who did what, when, from where, before/after. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Loading, Time } from '../components/ui.js';
import { useLoad } from '../hooks.js';

const PAGE = 50;

/** Before and after, folded: a row stays one line until the operator opens it. */
function Change({ before, after }: { before: unknown; after: unknown }) {
  if (before === undefined && after === undefined) return <span class="muted">—</span>;
  return (
    <details>
      <summary>
        {before === undefined ? 'after' : after === undefined ? 'before' : 'before → after'}
      </summary>
      {before !== undefined && <pre class="json">{JSON.stringify(before, null, 2)}</pre>}
      {after !== undefined && <pre class="json">{JSON.stringify(after, null, 2)}</pre>}
    </details>
  );
}

export function AuditPage() {
  const [afterSeq, setAfterSeq] = useState<number | undefined>(undefined);
  const [history, setHistory] = useState<(number | undefined)[]>([]);
  const entries = useLoad(() => api.audit(afterSeq, PAGE), [afterSeq]);
  const list = entries.data;
  return (
    <section>
      <h1>Audit log</h1>
      <p class="muted">
        Append-only and hash-chained: <code>tufota audit verify</code> checks it end to end.
      </p>
      <ErrorNote error={entries.error} />
      {list === undefined ? (
        entries.error === undefined && <Loading what="the audit log" />
      ) : (
        <>
          <div class="overflow-auto">
            <table class="striped">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Subject</th>
                  <th scope="col">From</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.seq}>
                    <th scope="row">{e.seq}</th>
                    <td>
                      <Time at={e.at} />
                    </td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td>{e.subject}</td>
                    <td>{e.from ?? '—'}</td>
                    <td>
                      <Change before={e.before} after={e.after} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="Audit pages" class="pager">
            <button
              type="button"
              class="secondary"
              disabled={history.length === 0}
              onClick={() => {
                setAfterSeq(history[history.length - 1]);
                setHistory(history.slice(0, -1));
              }}
            >
              Earlier entries
            </button>
            <button
              type="button"
              disabled={list.length < PAGE}
              onClick={() => {
                setHistory([...history, afterSeq]);
                setAfterSeq(list[list.length - 1]?.seq);
              }}
            >
              Later entries
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
