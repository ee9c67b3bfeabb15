// The club chat on the same stream; moderators get delete and mute buttons.
import { useEffect, useState, type FormEvent } from 'react';
import { useChat, useCyberHub } from '@cyberhub/sdk/react';
import { clock, errorText } from '../format';

export function Chat({ moderator = false }: { moderator?: boolean }) {
  const client = useCyberHub();
  const chat = useChat(50);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const send = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    setError(null);
    chat.send(text).then(() => setText(''), (err: unknown) => setError(errorText(err)));
  };
  const act = (p: Promise<unknown>) => void p.catch((err: unknown) => setError(errorText(err)));
  const messages = [...(chat.data ?? [])].reverse();
  const muted = chat.mutedUntil !== null && chat.mutedUntil > Date.now();
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
      <h2>Chat</h2>
      <ol className="messages">
        {messages.map((m) => (
          <li key={m.id} className={m.role === 'admin' ? 'admin' : ''} data-testid="chat-message">
            <span className="time">{clock(m.sent_at)}</span> <b>{m.username}</b> {m.text}
            {moderator && (
              <span className="mod">
                <button className="link" onClick={() => act(client.admin.deleteChatMessage(m.id))}>delete</button>
                {m.role !== 'admin' && <button className="link" onClick={() => act(client.admin.muteUser(m.user_id, 10, 'moderator'))}>mute 10 min</button>}
              </span>
            )}
          </li>
        ))}
      </ol>
      {muted && (
        <p className="error" data-testid="chat-muted">
          You are muted until {clock(chat.mutedUntil!)}{chat.muteReason ? ` (${chat.muteReason})` : ''}.
        </p>
      )}
      {error && <p className="error">{error}</p>}
      <form onSubmit={send} className="send">
        <input value={text} onChange={(e) => setText(e.target.value)} maxLength={500} placeholder="Say something" />
        <button type="submit" disabled={muted}>Send</button>
      </form>
    </section>
  );
}
