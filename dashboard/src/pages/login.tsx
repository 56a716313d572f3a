/** Log-in: `POST /api/admin/v1/session` gives a `tfa_` token of the person's role. */
import { useState } from 'preact/hooks';
import { logIn } from '../api.js';
import { ErrorNote } from '../components/ui.js';
import { useAction } from '../hooks.js';

export function LoginPage({ onLogIn }: { onLogIn: () => void }) {
  const [userId, setUserId] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
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
    </article>
  );
}
