import type { UseAuthResult } from '@hearth/react';
import { type FormEvent, useState } from 'react';
import { describeError } from './errors';

export function AuthForm({ auth }: { auth: UseAuthResult }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(kind: 'login' | 'register', event?: FormEvent) {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (kind === 'register') await auth.register({ email, password });
      else await auth.login({ email, password });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>Hearth</h1>
      <p className="muted">A chat assistant that remembers.</p>
      <form onSubmit={(event) => void submit('login', event)}>
        <label>
          Email
          <input
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            required
            minLength={8}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {error ? (
          <p role="alert" className="alert">
            {describeError(error)}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Log in
          </button>
          <button type="button" disabled={busy} onClick={() => void submit('register')}>
            Sign up
          </button>
        </div>
      </form>
    </main>
  );
}
