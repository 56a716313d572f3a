/**
 * Users and API tokens. Creating users and seeing everyone's tokens needs the admin role; any
 * person may mint and revoke their own tokens (scopes at most their role) — the server decides,
 * and its 403 message is shown as is.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Loading, Status, Time } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';

const ROLES = ['viewer', 'operator', 'releaser', 'admin'] as const;
const SCOPES = ['read', 'devices', 'releases', 'admin'] as const;

function Users() {
  const users = useLoad(() => api.users(), []);
  const [userId, setUserId] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('viewer');
  const create = useAction();
  const change = useAction();
  return (
    <section aria-labelledby="users-h">
      <h2 id="users-h">Users</h2>
      <ErrorNote error={users.error ?? change.error} />
      {users.data === undefined ? (
        users.error === undefined && <Loading what="users" />
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.userId}>
                  <th scope="row">{u.userId}</th>
                  <td>{u.name}</td>
                  <td>
                    <label class="inline">
                      <span class="visually-hidden">Role of {u.userId}</span>
                      <select
                        value={u.role}
                        disabled={change.busy}
                        onChange={async (e) => {
                          const next = e.currentTarget.value;
                          if (await change.run(() => api.updateUser(u.userId, { role: next }))) {
                            await users.reload();
                          } else {
                            await users.reload();
                          }
                        }}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </label>
                  </td>
                  <td>
                    <Time at={u.createdAt} />
                  </td>
                  <td>
                    <Status value={u.disabledAt === undefined ? 'active' : 'disabled'} />
                  </td>
                  <td>
                    <button
                      type="button"
                      class="secondary outline"
                      disabled={change.busy}
                      onClick={async () => {
                        const disabled = u.disabledAt === undefined;
                        if (await change.run(() => api.updateUser(u.userId, { disabled }))) {
                          await users.reload();
                        }
                      }}
                    >
                      {u.disabledAt === undefined ? `Disable ${u.userId}` : `Enable ${u.userId}`}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <details>
        <summary class="button-summary">New user</summary>
        <form
          aria-label="New user"
          onSubmit={async (event) => {
            event.preventDefault();
            if (await create.run(() => api.createUser({ userId, name, role }))) {
              setUserId('');
              setName('');
              await users.reload();
            }
          }}
        >
          <div class="grid">
            <label>
              User id
              <input required value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
            </label>
            <label>
              Name
              <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
            <label>
              Role
              <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <ErrorNote error={create.error} />
          <button type="submit" disabled={create.busy}>
            Create user
          </button>
        </form>
      </details>
    </section>
  );
}

function Tokens() {
  const tokens = useLoad(() => api.tokens(), []);
  const [description, setDescription] = useState('');
  const [days, setDays] = useState('30');
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const create = useAction();
  const revoke = useAction();
  return (
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">API tokens</h2>
      <ErrorNote error={tokens.error ?? revoke.error} />
      {tokens.data === undefined ? (
        tokens.error === undefined && <Loading what="tokens" />
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col">User</th>
                <th scope="col">Scopes</th>
                <th scope="col">Description</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.tokenId}>
                  <th scope="row">{t.tokenId}</th>
                  <td>{t.userId ?? '—'}</td>
                  <td>{t.scopes.join(', ')}</td>
                  <td>{t.description ?? '—'}</td>
                  <td>
                    <Time at={t.expiresAt} />
                  </td>
                  <td>
                    <Time at={t.lastUsedAt} />
                  </td>
                  <td>
                    {t.revokedAt === undefined ? (
                      <button
                        type="button"
                        class="secondary outline"
                        disabled={revoke.busy}
                        aria-label={`Revoke token ${t.tokenId}`}
                        onClick={async () => {
                          if (!window.confirm(`Revoke token ${t.tokenId}?`)) return;
                          if (await revoke.run(() => api.revokeToken(t.tokenId))) {
                            await tokens.reload();
                          }
                        }}
                      >
                        Revoke
                      </button>
                    ) : (
                      <span>
                        revoked <Time at={t.revokedAt} />
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {secret !== undefined && (
        <article role="status" class="secret">
          <p>
            The new token is shown <strong>once</strong>; copy it now:
          </p>
          <pre>{secret}</pre>
          <button type="button" class="secondary" onClick={() => setSecret(undefined)}>
            I have copied it
          </button>
        </article>
      )}
      <details>
        <summary class="button-summary">New token</summary>
        <form
          aria-label="New token"
          onSubmit={async (event) => {
            event.preventDefault();
            let created: { token: string } | undefined;
            const ok = await create.run(async () => {
              created = await api.createToken({
                scopes,
                expiresInDays: Number(days),
                description,
              });
            });
            if (ok && created !== undefined) {
              setSecret(created.token);
              setDescription('');
              await tokens.reload();
            }
          }}
        >
          <div class="grid">
            <label>
              Description
              <input
                required
                value={description}
                onInput={(e) => setDescription(e.currentTarget.value)}
              />
            </label>
            <label>
              Expires in (days)
              <input
                type="number"
                min="1"
                max="365"
                required
                value={days}
                onInput={(e) => setDays(e.currentTarget.value)}
              />
            </label>
          </div>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label key={scope}>
                <input
                  type="checkbox"
                  checked={scopes.includes(scope)}
                  onChange={(e) =>
                    setScopes(
                      e.currentTarget.checked
                        ? [...scopes, scope]
                        : scopes.filter((s) => s !== scope),
                    )
                  }
                />
                {scope}
              </label>
            ))}
          </fieldset>
          <ErrorNote error={create.error} />
          <button type="submit" disabled={create.busy}>
            Create token
          </button>
        </form>
      </details>
    </section>
  );
}

export function PeoplePage() {
  return (
    <section>
      <h1>Users and tokens</h1>
      <Users />
      <Tokens />
    </section>
  );
}
