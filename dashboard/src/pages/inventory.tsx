/**
 * Inventory: `GET /devices` with the contract's filters, sorting and cursor pagination. The
 * filters live in the page's URL, so a filtered view ("still on fw-1.2") can be bookmarked and
 * linked from the releases page.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Loading, Status, Time } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import { Link, navigate } from '../router.js';

/** The filter fields the form edits, named as the API's query parameters. */
const FIELDS = [
  'q',
  'status',
  'model',
  'hardwareId',
  'attrName',
  'attrValue',
  'installed',
  'installedPrefix',
  'lastSeenFrom',
  'lastSeenBefore',
  'sort',
] as const;
type Filters = Partial<Record<(typeof FIELDS)[number], string>>;

function filtersFrom(search: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const field of FIELDS) {
    const value = search.get(field);
    if (value !== null && value !== '') filters[field] = value;
  }
  return filters;
}

/** `datetime-local` values are local times; the API wants ISO 8601 UTC. */
function toIso(local: string | undefined): string | undefined {
  if (local === undefined || local === '') return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

function apiQuery(f: Filters, cursor: string | undefined): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = {
    q: f.q,
    status: f.status,
    model: f.model,
    hardwareId: f.hardwareId,
    installed: f.installed,
    installedPrefix: f.installedPrefix,
    lastSeenFrom: toIso(f.lastSeenFrom),
    lastSeenBefore: toIso(f.lastSeenBefore),
    sort: f.sort,
    limit: '25',
    cursor,
  };
  if (f.attrName !== undefined && f.attrName !== '')
    query[`attr.${f.attrName}`] = f.attrValue ?? '';
  return query;
}

export function InventoryPage({ search }: { search: URLSearchParams }) {
  const applied = filtersFrom(search);
  const key = JSON.stringify(applied);
  const [draft, setDraft] = useState<Filters>(applied);
  const [draftKey, setDraftKey] = useState(key);
  // The URL changed (a link, back/forward): the form shows what is applied.
  if (draftKey !== key) {
    setDraft(applied);
    setDraftKey(key);
  }
  // Cursors of the pages before the current one, for "Previous page".
  const [cursors, setCursors] = useState<(string | undefined)[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [cursorKey, setCursorKey] = useState(key);
  if (cursorKey !== key) {
    setCursors([]);
    setCursor(undefined);
    setCursorKey(key);
  }
  const page = useLoad(() => api.devices(apiQuery(applied, cursor)), [key, cursor]);

  const set = (field: keyof Filters) => (event: { currentTarget: { value: string } }) =>
    setDraft({ ...draft, [field]: event.currentTarget.value });
  const apply = (filters: Filters) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== '') params.set(k, v);
    const text = params.toString();
    navigate(`/devices${text === '' ? '' : `?${text}`}`, true);
  };

  return (
    <section>
      <h1>Inventory</h1>
      <form
        class="filters"
        aria-label="Filter devices"
        onSubmit={(event) => {
          event.preventDefault();
          apply(draft);
        }}
      >
        <div class="grid">
          <label>
            Device id contains
            <input name="q" value={draft.q ?? ''} onInput={set('q')} />
          </label>
          <label>
            Status
            <select name="status" value={draft.status ?? ''} onChange={set('status')}>
              <option value="">any</option>
              <option value="pending">pending</option>
              <option value="accepted">accepted</option>
              <option value="rejected">rejected</option>
              <option value="decommissioned">decommissioned</option>
            </select>
          </label>
          <label>
            Model
            <input name="model" value={draft.model ?? ''} onInput={set('model')} />
          </label>
          <label>
            Hardware id
            <input name="hardwareId" value={draft.hardwareId ?? ''} onInput={set('hardwareId')} />
          </label>
        </div>
        <div class="grid">
          <label>
            Attribute name
            <input name="attrName" value={draft.attrName ?? ''} onInput={set('attrName')} />
          </label>
          <label>
            Attribute value
            <input name="attrValue" value={draft.attrValue ?? ''} onInput={set('attrValue')} />
          </label>
          <label>
            Installed version (exact target)
            <input name="installed" value={draft.installed ?? ''} onInput={set('installed')} />
          </label>
          <label>
            Installed version starts with
            <input
              name="installedPrefix"
              value={draft.installedPrefix ?? ''}
              onInput={set('installedPrefix')}
            />
          </label>
        </div>
        <div class="grid">
          <label>
            Last seen from
            <input
              type="datetime-local"
              name="lastSeenFrom"
              value={draft.lastSeenFrom ?? ''}
              onInput={set('lastSeenFrom')}
            />
          </label>
          <label>
            Last seen before
            <input
              type="datetime-local"
              name="lastSeenBefore"
              value={draft.lastSeenBefore ?? ''}
              onInput={set('lastSeenBefore')}
            />
          </label>
          <label>
            Sort by
            <select name="sort" value={draft.sort ?? ''} onChange={set('sort')}>
              <option value="">device id</option>
              <option value="lastSeen:desc">last seen, newest first</option>
              <option value="lastSeen:asc">last seen, oldest first</option>
              <option value="createdAt:desc">added, newest first</option>
              <option value="status:asc">status</option>
            </select>
          </label>
          <div class="filter-buttons">
            <button type="submit">Apply filters</button>
            <button type="button" class="secondary" onClick={() => apply({})}>
              Clear
            </button>
          </div>
        </div>
      </form>
      <ErrorNote error={page.error} />
      {page.data === undefined ? (
        page.error === undefined && <Loading what="devices" />
      ) : (
        <>
          <p aria-live="polite" class="muted">
            {page.data.items.length === 0
              ? 'No device matches these filters.'
              : `Showing ${page.data.items.length} device${page.data.items.length === 1 ? '' : 's'}${cursors.length > 0 ? `, page ${cursors.length + 1}` : ''}.`}
          </p>
          <div class="overflow-auto">
            <table class="striped">
              <caption class="visually-hidden">Devices</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Status</th>
                  <th scope="col">Model</th>
                  <th scope="col">Hardware ids</th>
                  <th scope="col">Installed</th>
                  <th scope="col">Attributes</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((d) => (
                  <tr key={d.deviceId}>
                    <th scope="row">
                      <Link to={`/devices/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</Link>
                    </th>
                    <td>
                      <Status value={d.status} />
                    </td>
                    <td>
                      {d.model ?? '—'}
                      {d.hardwareRevision === undefined ? '' : ` rev ${d.hardwareRevision}`}
                    </td>
                    <td>{(d.hardwareIds ?? []).join(', ')}</td>
                    <td>
                      {(d.ecus ?? [])
                        .map((e) => e.installedTarget)
                        .filter((t) => t !== undefined)
                        .join(', ') || '—'}
                    </td>
                    <td>
                      {Object.entries(d.attributes ?? {})
                        .map(([k, v]) => `${k}=${v}`)
                        .join(' ')}
                    </td>
                    <td>
                      <Time at={d.lastSeen} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="Pages" class="pager">
            <button
              type="button"
              class="secondary"
              disabled={cursors.length === 0}
              onClick={() => {
                setCursor(cursors[cursors.length - 1]);
                setCursors(cursors.slice(0, -1));
              }}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={page.data.nextCursor === undefined}
              onClick={() => {
                setCursors([...cursors, cursor]);
                setCursor(page.data?.nextCursor);
              }}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
