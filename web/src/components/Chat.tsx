// The club chat on the same stream: anyone may read it, members write, moderators get delete and
// mute buttons. A visitor sees a prompt to log in where the send box would be.
import { useEffect, useState, type FormEvent } from 'react';
import { useChat, useCyberHub } from '@cyberhub/sdk/react';
import { useT } from '../i18n';

interface ChatProps {
  signedIn: boolean;
  moderator?: boolean;
  onSignIn?(): void;
}

export function Chat({ signedIn, moderator = false, onSignIn }: ChatProps) {
  const client = useCyberHub();
  const { t, fmt, errorText } = useT();
  const chat = useChat(50);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const send = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    setError(null);
    chat.send(text).then(() => setText(''), setError);
  };
  const act = (p: Promise<unknown>) => void p.catch(setError);
  const messages = [...(chat.data ?? [])].reverse();
  const muted = signedIn && chat.mutedUntil !== null && chat.mutedUntil > Date.now();
  // A mute ends by itself: look again when it is due (at most an hour apart, within setTimeout's range).
  const [, setWoken] = useState(0);
  useEffect(() => {
    if (!muted) return;
    const due = Math.min(chat.mutedUntil! - Date.now() + 50, 3_600_000);
    const timer = setTimeout(() => setWoken((n) => n + 1), due);
    return () => clearTimeout(timer);
  });
  return (
    <section className="panel chat" data-testid="chat">
      <h2>{t.chat.title}</h2>
      {chat.loading && !chat.data && <p className="muted">{t.loading}</p>}
      {chat.error && <p className="error">{errorText(chat.error)}</p>}
      {chat.data?.length === 0 && <p className="muted">{t.chat.empty}</p>}
      <ol className="messages">
        {messages.map((m) => (
          <li key={m.id} className={m.role === 'admin' ? 'admin' : ''} data-testid="chat-message">
            <span className="time">{fmt.time(m.sent_at)}</span> <b>{m.username}</b> {m.text}
            {moderator && (
              <span className="mod">
                <button className="link" onClick={() => act(client.admin.deleteChatMessage(m.id))}>{t.chat.delete}</button>
                {m.role !== 'admin' && <button className="link" onClick={() => act(client.admin.muteUser(m.user_id, 10, t.chat.muteReason))}>{t.chat.mute}</button>}
              </span>
            )}
          </li>
        ))}
      </ol>
      {muted && (
        <p className="error" data-testid="chat-muted">{t.chat.muted(fmt.moment(chat.mutedUntil!), chat.muteReason)}</p>
      )}
      {error !== null && <p className="error">{errorText(error)}</p>}
      {signedIn ? (
        <form onSubmit={send} className="send">
          <input value={text} onChange={(e) => setText(e.target.value)} maxLength={500} placeholder={t.chat.placeholder} />
          <button type="submit" disabled={muted}>{t.chat.send}</button>
        </form>
      ) : (
        <p className="sign-in" data-testid="chat-sign-in">
          {t.chat.signInToWrite} <button type="button" className="link" onClick={onSignIn}>{t.chat.signIn}</button>
        </p>
      )}
    </section>
  );
}
