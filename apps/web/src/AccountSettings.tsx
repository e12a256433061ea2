import { useAccount } from '@hearth/react';
import { type FormEvent, useState } from 'react';
import { describeError } from './errors';

/** The password check of a deletion fails as a login would: here only the password was asked for. */
const describeDeleteError = (error: unknown): string => {
  const code = (error as { data?: { appCode?: unknown } } | null)?.data?.appCode;
  if (code === 'INVALID_CREDENTIALS') return 'Wrong password.';
  if (code === 'FORBIDDEN') return 'This session cannot delete the account: log in with your password.';
  return describeError(error);
};

function ExportData() {
  const account = useAccount();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function download() {
    setBusy(true);
    setError(null);
    try {
      const url = URL.createObjectURL(await account.exportData());
      const link = document.createElement('a');
      link.href = url;
      link.download = `hearth-export-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      // Revoked later: the browser reads the Blob after the click returns.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div>
      <p className="muted">Your profile, memory, conversations and usage, as one JSON file.</p>
      <button type="button" disabled={busy} onClick={() => void download()}>
        Export my data
      </button>
      {error ? (
        <p role="alert" className="alert">
          {describeError(error)}
        </p>
      ) : null}
    </div>
  );
}

function DeleteAccount() {
  const account = useAccount();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);

  function ask(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setConfirming(true);
  }

  async function remove() {
    setError(null);
    try {
      await account.deleteAccount(password);
      // Signed out now: the app shows the sign-in screen; the next sign-in starts at the chat.
      if (window.location.pathname !== '/') window.history.replaceState(null, '', '/');
    } catch (caught) {
      setConfirming(false);
      setError(caught);
    }
  }

  if (!open) {
    return (
      <div>
        <button type="button" className="danger" onClick={() => setOpen(true)}>
          Delete account
        </button>
      </div>
    );
  }
  return (
    <form onSubmit={ask} aria-label="Delete account">
      <p className="muted">Deletes your account, memory, conversations and files for good.</p>
      <label>
        Password
        <input
          type="password"
          autoComplete="current-password"
          required
          value={password}
          disabled={confirming}
          onChange={(event) => setPassword(event.target.value)}
        />
      </label>
      {confirming ? (
        <>
          <strong>Delete your account for good?</strong>
          <button type="button" className="danger" disabled={account.isDeleting} onClick={() => void remove()}>
            Yes, delete my account
          </button>
          <button type="button" disabled={account.isDeleting} onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <>
          <button type="submit" className="danger">
            Delete account
          </button>
          <button
            type="button"
            onClick={() => {
              setOpen(false);
              setPassword('');
              setError(null);
            }}
          >
            Cancel
          </button>
        </>
      )}
      {error ? (
        <p role="alert" className="alert">
          {describeDeleteError(error)}
        </p>
      ) : null}
    </form>
  );
}

export function AccountSettings() {
  return (
    <section className="account" aria-label="Account">
      <h2>Account</h2>
      <ExportData />
      <DeleteAccount />
    </section>
  );
}
