// The page: the top bar, then the club as anyone sees it (cases, live drops, chat) with either the
// login form or, once logged in, the member's inventory in the side column (and the admin view for
// admins). A visitor is asked to log in only when trying to act.
import { useEffect, useState } from 'react';
import { CyberHubError } from '@cyberhub/sdk';
import { useAnnouncements, useCyberHub, useMe } from '@cyberhub/sdk/react';
import { useT } from './i18n';
import { TopBar } from './components/TopBar';
import { Login, type SignInRequest, type SignInReason } from './components/Login';
import { Cases } from './components/Cases';
import { Inventory } from './components/Inventory';
import { DropFeed } from './components/DropFeed';
import { Chat } from './components/Chat';
import { Admin } from './components/Admin';
import { Fairness } from './components/Fairness';

type View = 'club' | 'fairness' | 'admin';

function viewOf(hash: string): View {
  return hash === '#fairness' || hash === '#admin' ? (hash.slice(1) as View) : 'club';
}

export function App() {
  const client = useCyberHub();
  const { t } = useT();
  const [token, setToken] = useState(client.token);
  useEffect(() => client.onTokenChange(setToken), [client]);
  const me = useMe();
  // A token the server no longer knows (revoked, or a fresh database) leaves the visitor logged out.
  useEffect(() => {
    if (me.error instanceof CyberHubError && me.error.code === 'unauthenticated') client.setToken(null);
  }, [client, me.error]);
  const announcements = useAnnouncements(3);
  // The view follows the address (#fairness, #admin), so it can be linked and survives a reload.
  const [view, setViewState] = useState<View>(() => viewOf(location.hash));
  const setView = (next: View) => {
    history.replaceState(null, '', next === 'club' ? location.pathname : `#${next}`);
    setViewState(next);
  };
  const [signIn, setSignIn] = useState<SignInRequest | null>(null);
  const askSignIn = (reason: SignInReason) => setSignIn((s) => ({ reason, n: (s?.n ?? 0) + 1 }));
  useEffect(() => {
    if (token) setSignIn(null);
  }, [token]);
  const signedIn = token !== null;
  const isAdmin = me.data?.role === 'admin';

  return (
    <>
      <TopBar me={me.data} />
      {announcements.map((a) => (
        <div key={a.id} className="announcement" data-testid="announcement"><b>{t.announcement}</b> {a.text}</div>
      ))}
      {signedIn && (
        <nav className="tabs">
          <button className={view === 'club' ? 'active' : ''} onClick={() => setView('club')} data-testid="tab-club">{t.tabs.club}</button>
          <button className={view === 'fairness' ? 'active' : ''} onClick={() => setView('fairness')} data-testid="tab-fairness">{t.tabs.fairness}</button>
          {isAdmin && <button className={view === 'admin' ? 'active' : ''} onClick={() => setView('admin')}>{t.tabs.admin}</button>}
        </nav>
      )}
      {view === 'admin' && isAdmin ? (
        <main className="grid"><Admin /><Chat signedIn moderator /></main>
      ) : view === 'fairness' && signedIn ? (
        <main className="grid"><Fairness /><DropFeed /></main>
      ) : (
        <main className="grid">
          <Cases signedIn={signedIn} onSignIn={() => askSignIn('open')} />
          {signedIn ? <Inventory /> : <Login request={signIn} />}
          <DropFeed />
          <Chat signedIn={signedIn} moderator={isAdmin} onSignIn={() => askSignIn('chat')} />
        </main>
      )}
    </>
  );
}
