// The top bar: brand, the member and the live balance, the language switch, and the connection
// indicator (the seed's Wi-Fi icon: green on SSE, amber on long-poll, red while reconnecting or
// offline; the transport in the tooltip).
import { useEffect, useState } from 'react';
import { useConnectionState, useCyberHub } from '@cyberhub/sdk/react';
import type { BalanceUpdated, ConnectionState, User } from '@cyberhub/sdk';
import { LOCALES, useT, type Dictionary } from '../i18n';

function describe(s: ConnectionState, t: Dictionary['connection']): { colour: 'green' | 'amber' | 'red'; label: string } {
  if (s.state === 'connected') return s.transport === 'sse' ? { colour: 'green', label: t.sse } : { colour: 'amber', label: t.poll };
  if (s.state === 'offline') return { colour: 'red', label: t.offline };
  if (s.state === 'closed') return { colour: 'red', label: t.closed };
  const transport = s.transport ? ` (${s.transport === 'sse' ? 'SSE' : 'long-poll'})` : '';
  return { colour: 'red', label: `${s.state === 'connecting' ? t.connecting : t.reconnecting}${transport}…` };
}

/** The connection indicator alone. */
export function ConnectionIndicator() {
  const state = useConnectionState();
  const { t } = useT();
  const { colour, label } = describe(state, t.connection);
  return (
    <span className={`indicator ${colour}`} title={label} data-testid="indicator" data-colour={colour} data-state={state.state} data-transport={state.transport ?? ''}>
      <svg viewBox="0 0 24 24" width="22" height="22" aria-label={label} role="img">
        <path d="M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />
        <circle cx="12" cy="19" r="1.8" fill="currentColor" />
      </svg>
    </span>
  );
}

/** "RU | EN": the visitor's choice, remembered, wins over the browser's languages. */
export function LanguageSwitch() {
  const { t, locale, setLocale } = useT();
  return (
    <span className="lang" role="group" aria-label={t.language.label} data-testid="language">
      {LOCALES.map((l, i) => (
        <span key={l}>
          {i > 0 && <span className="sep" aria-hidden="true">|</span>}
          <button type="button" className={`link${l === locale ? ' active' : ''}`} lang={l} title={t.language.names[l]}
            aria-pressed={l === locale} data-locale={l} onClick={() => setLocale(l)}>
            {l.toUpperCase()}
          </button>
        </span>
      ))}
    </span>
  );
}

/** How long a payment's note stays beside the balance. */
const NOTE_MS = 6000;

/**
 * A payment that moved the balance from outside the page (a top-up at the club's desk, a refund
 * of one), shown beside the balance for a few seconds: the member sees where the money came from.
 */
function PaymentNote() {
  const client = useCyberHub();
  const { t, fmt } = useT();
  const [note, setNote] = useState<BalanceUpdated | null>(null);
  useEffect(() => client.onBalanceUpdated((e, meta) => {
    if (!meta.resync && (e.reason === 'topup' || e.reason === 'refund')) setNote(e);
  }), [client]);
  useEffect(() => {
    if (!note) return;
    const timer = setTimeout(() => setNote(null), NOTE_MS);
    return () => clearTimeout(timer);
  }, [note]);
  if (!note) return null;
  const amount = fmt.money(Math.abs(note.delta));
  return (
    <span className={`payment-note ${note.reason}`} data-testid="payment-note" data-reason={note.reason} role="status">
      {note.reason === 'topup' ? t.topBar.toppedUp(amount) : t.topBar.refunded(amount)}
    </span>
  );
}

export function TopBar({ me }: { me: User | null }) {
  const client = useCyberHub();
  const { t, fmt } = useT();
  return (
    <header className="topbar">
      <strong className="brand">CyberHub</strong>
      <span className="spacer" />
      {me && (
        <>
          <span className="user">{me.username}{me.role === 'admin' ? ` (${t.topBar.admin})` : ''}</span>
          <span className="balance" data-testid="balance" data-kopecks={me.balance}>{fmt.money(me.balance)}</span>
          <PaymentNote />
          <button className="link" onClick={() => void client.logout()}>{t.topBar.logOut}</button>
        </>
      )}
      <LanguageSwitch />
      <ConnectionIndicator />
    </header>
  );
}
