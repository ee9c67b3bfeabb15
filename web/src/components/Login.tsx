// The login form; the demo server's accounts are listed for convenience.
import { useState, type FormEvent } from 'react';
import { useCyberHub } from '@cyberhub/sdk/react';
import { errorText } from '../format';

export function Login() {
  const client = useCyberHub();
  const [username, setUsername] = useState('alice');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    client.login(username, password).catch((err: unknown) => setError(errorText(err)));
  };
  return (
    <section className="panel login">
      <h2>Log in</h2>
      <form onSubmit={submit}>
        <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} placeholder="username" autoComplete="username" />
        <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} placeholder="password" autoComplete="current-password" />
        <button type="submit">Log in</button>
      </form>
      {error && <p className="error">{error}</p>}
      <p className="hint">Demo server: alice / alice-demo-1, bob / bob-demo-1, admin / admin-demo-1</p>
    </section>
  );
}
