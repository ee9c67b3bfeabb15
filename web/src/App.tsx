// The page: the top bar, then either the login form or the member's live panels (and the admin
// view for admins).
import { useEffect, useState } from 'react';
import { useAnnouncements, useCyberHub, useMe } from '@cyberhub/sdk/react';
import { TopBar } from './components/TopBar';
import { Login } from './components/Login';
import { Cases } from './components/Cases';
import { Inventory } from './components/Inventory';
import { DropFeed } from './components/DropFeed';
import { Chat } from './components/Chat';
import { Admin } from './components/Admin';

export function App() {
  const client = useCyberHub();
  const [token, setToken] = useState(client.token);
  useEffect(() => client.onTokenChange(setToken), [client]);
  const me = useMe();
  const announcements = useAnnouncements(3);
  const [view, setView] = useState<'club' | 'admin'>('club');
  const isAdmin = me.data?.role === 'admin';

  return (
    <>
      <TopBar me={me.data} />
      {announcements.map((a) => (
        <div key={a.id} className="announcement" data-testid="announcement"><b>Announcement</b> {a.text}</div>
      ))}
      {!token ? (
        <main className="single"><Login /><DropFeed /></main>
      ) : (
        <>
          {isAdmin && (
            <nav className="tabs">
              <button className={view === 'club' ? 'active' : ''} onClick={() => setView('club')}>Club</button>
              <button className={view === 'admin' ? 'active' : ''} onClick={() => setView('admin')}>Admin</button>
            </nav>
          )}
          {view === 'admin' && isAdmin ? (
            <main className="grid"><Admin /><Chat moderator /></main>
          ) : (
            <main className="grid">
              <Cases />
              <Inventory />
              <DropFeed />
              <Chat moderator={isAdmin} />
            </main>
          )}
        </>
      )}
    </>
  );
}
