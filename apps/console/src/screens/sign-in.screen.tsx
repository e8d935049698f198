import { useId, useState, type FormEvent } from 'react';
import { createTallyClient } from '@tally/client/http';
import { navigate } from '../router';
import { session } from '../session';

/**
 * Sign-in with a token: the operator token `npm start` prints (TALLY_ADMIN_TOKEN), or a tenant's admin or
 * billing-viewer credential. It is checked against the API before it is kept for the session.
 */
export const SignInScreen = ({ next }: { next?: string }) => {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string>();
  const [checking, setChecking] = useState(false);
  const inputId = useId();
  const hintId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = token.trim();
    if (!candidate) return setProblem('Enter a token.');
    setChecking(true);
    setProblem(undefined);
    try {
      // Any credential but a producer key may read projections or is told it may not (403): both prove it valid.
      const { response } = await createTallyClient({ baseUrl: location.origin, token: candidate }).GET(
        '/v1/admin/projections',
      );
      if (response.status === 401) return setProblem('Tally did not accept this token.');
      session.signIn(candidate);
      navigate(next ?? '/', { replace: true });
    } catch (error) {
      setProblem(`Tally did not answer: ${String(error)}`);
    } finally {
      setChecking(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <h1>Tally Console</h1>
      <form onSubmit={submit} noValidate>
        <label htmlFor={inputId}>Admin token</label>
        <input
          id={inputId}
          name="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby={hintId}
          aria-invalid={problem ? true : undefined}
        />
        <p id={hintId} className="hint">
          <code>npm start</code> prints it as <code>TALLY_ADMIN_TOKEN</code>. It is kept for this browser tab only.
        </p>
        {problem && (
          <p role="alert" className="refusal">
            {problem}
          </p>
        )}
        <button type="submit" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
};
