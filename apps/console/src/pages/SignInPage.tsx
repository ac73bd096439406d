import { useId, useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/common';
import { useSession } from '../session';

export function SignInPage() {
  const session = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await session.signIn(key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>Sign in</h1>
      <p>Sign in with your org's API key to quote, submit and follow jobs. The market, provider, operator and auditor pages need no API key.</p>
      <form className="card form narrow" onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor={`${id}-key`}>API key</label>
          <input id={`${id}-key`} type="password" autoComplete="off" spellCheck={false} required value={key} onChange={(e) => setKey(e.target.value)} aria-describedby={`${id}-hint`} />
          <p id={`${id}-hint`} className="hint">
            An <code>sm_...</code> key. It is kept in this tab's session storage until you sign out or close the tab.
          </p>
        </div>
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
        <ErrorNote error={error} context="Sign-in refused" />
      </form>
    </>
  );
}
