/** Log-in: `POST /api/admin/v1/session` gives a `tfa_` token of the person's role. */
import { useState } from 'preact/hooks';
import { logIn, logInWithToken } from '../api.js';
import { ErrorNote } from '../components/ui.js';
import { useAction } from '../hooks.js';

export function LoginPage({ onLogIn }: { onLogIn: () => void }) {
  const [userId, setUserId] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const action = useAction();
  const tokenAction = useAction();
  return (
    <article>
      <h1>tufota fleet</h1>
      <p>Log in with your fleet server account.</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (await action.run(() => logIn(userId.trim(), password))) onLogIn();
        }}
      >
        <label>
          User id
          <input
            name="userId"
            autoComplete="username"
            required
            value={userId}
            onInput={(e) => setUserId(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorNote error={action.error} />
        <button type="submit" aria-busy={action.busy} disabled={action.busy}>
          Log in
        </button>
      </form>
      <hr />
      <form
        aria-label="Log in with an API token"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await tokenAction.run(() => logInWithToken(token.trim()))) onLogIn();
        }}
      >
        <label>
          Or an API token (tfa_…)
          <input
            name="token"
            type="password"
            autoComplete="off"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <ErrorNote error={tokenAction.error} />
        <button type="submit" class="secondary" disabled={tokenAction.busy}>
          Log in with the token
        </button>
      </form>
    </article>
  );
}
