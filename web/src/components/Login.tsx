// The login form, in the side column while nobody is logged in. When a visitor tries to act (open
// a case, write in the chat) the page asks here: the form says why and takes the focus.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useCyberHub } from '@cyberhub/sdk/react';
import { useT } from '../i18n';

export type SignInReason = 'open' | 'chat';
/** A request to log in; `n` counts the requests so that asking twice focuses the form twice. */
export interface SignInRequest {
  reason: SignInReason;
  n: number;
}

export function Login({ request = null }: { request?: SignInRequest | null }) {
  const client = useCyberHub();
  const { t, errorText } = useT();
  const [username, setUsername] = useState('alice');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const panel = useRef<HTMLElement>(null);
  const usernameInput = useRef<HTMLInputElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!request) return;
    panel.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    (username ? passwordInput : usernameInput).current?.focus();
    // Only a new request moves the focus, not typing.
  }, [request]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    client.login(username, password).catch(setError);
  };
  return (
    <section ref={panel} className={`panel login${request ? ' asked' : ''}`} data-testid="login">
      <h2>{t.login.title}</h2>
      {request && (
        <p key={request.n} className="ask" data-testid="sign-in-prompt">{t.login.ask[request.reason]}</p>
      )}
      <form onSubmit={submit}>
        <input ref={usernameInput} name="username" value={username} onChange={(e) => setUsername(e.target.value)} placeholder={t.login.username} autoComplete="username" />
        <input ref={passwordInput} name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} placeholder={t.login.password} autoComplete="current-password" />
        <button type="submit">{t.login.submit}</button>
      </form>
      {error !== null && <p className="error" data-testid="login-error">{errorText(error)}</p>}
      <p className="hint">{t.login.newcomer}</p>
      <p className="hint">{t.login.demo}</p>
    </section>
  );
}
