/** Groups: static lists and dynamic expressions (`model=gw-200 and hwrev>=3`), their members. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Loading } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { Link } from '../router.js';

function Members({ name }: { name: string }) {
  const group = useLoad(() => api.group(name), [name]);
  if (group.error !== undefined) return <ErrorNote error={group.error} />;
  if (group.data === undefined) return <Loading what="members" />;
  const members = group.data.members;
  return members.length === 0 ? (
    <p class="muted">No device is a member now.</p>
  ) : (
    <ul class="members">
      {members.map((id) => (
        <li key={id}>
          <Link to={`/devices/${encodeURIComponent(id)}`}>{id}</Link>
        </li>
      ))}
    </ul>
  );
}

export function GroupsPage() {
  const groups = useLoad(() => api.groups(), []);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'static' | 'dynamic'>('dynamic');
  const [expression, setExpression] = useState('');
  const [devices, setDevices] = useState('');
  const create = useAction();
  const remove = useAction();
  const open = new URLSearchParams(location.search).get('name');

  return (
    <section>
      <h1>Groups</h1>
      <details>
        <summary class="button-summary">New group</summary>
        <form
          aria-label="New group"
          onSubmit={async (event) => {
            event.preventDefault();
            const ok = await create.run(() =>
              api.createGroup(
                kind === 'dynamic'
                  ? { name, kind, expression }
                  : {
                      name,
                      kind,
                      devices: devices
                        .split(/[\s,]+/)
                        .map((d) => d.trim())
                        .filter((d) => d !== ''),
                    },
              ),
            );
            if (ok) {
              setName('');
              setExpression('');
              setDevices('');
              await groups.reload();
            }
          }}
        >
          <label>
            Name
            <input
              name="name"
              required
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <fieldset>
            <legend>Kind</legend>
            <label>
              <input
                type="radio"
                name="kind"
                checked={kind === 'dynamic'}
                onChange={() => setKind('dynamic')}
              />
              Dynamic: every device matching an expression when a phase starts
            </label>
            <label>
              <input
                type="radio"
                name="kind"
                checked={kind === 'static'}
                onChange={() => setKind('static')}
              />
              Static: a list of device ids
            </label>
          </fieldset>
          {kind === 'dynamic' ? (
            <label>
              Expression
              <input
                name="expression"
                required
                placeholder="model=gw-200 and hwrev>=3 and site=oslo"
                aria-describedby="expression-help"
                value={expression}
                onInput={(e) => setExpression(e.currentTarget.value)}
              />
              <small id="expression-help">
                Conditions on model, hwrev, hardware ids and attributes, joined with and / or.
              </small>
            </label>
          ) : (
            <label>
              Device ids (one per line or comma-separated)
              <textarea
                name="devices"
                required
                rows={4}
                value={devices}
                onInput={(e) => setDevices(e.currentTarget.value)}
              />
            </label>
          )}
          <ErrorNote error={create.error} />
          <button type="submit" disabled={create.busy} aria-busy={create.busy}>
            Create group
          </button>
        </form>
      </details>
      <ErrorNote error={groups.error ?? remove.error} />
      {groups.data === undefined ? (
        groups.error === undefined && <Loading what="groups" />
      ) : groups.data.length === 0 ? (
        <p class="muted">No groups yet.</p>
      ) : (
        groups.data.map((g) => (
          <article key={g.name}>
            <header>
              <strong>{g.name}</strong> — {g.kind}, {g.members ?? '?'} members
              {g.expression !== undefined && (
                <>
                  : <code>{g.expression}</code>
                </>
              )}
            </header>
            <details open={open === g.name}>
              <summary>Members</summary>
              <Members name={g.name} />
            </details>
            <button
              type="button"
              class="secondary outline"
              disabled={remove.busy}
              onClick={async () => {
                if (!window.confirm(`Delete group ${g.name}?`)) return;
                if (await remove.run(() => api.deleteGroup(g.name))) await groups.reload();
              }}
            >
              Delete {g.name}
            </button>
          </article>
        ))
      )}
    </section>
  );
}
