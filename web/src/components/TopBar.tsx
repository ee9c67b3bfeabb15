// The top bar: brand, the connection indicator (the seed's Wi-Fi icon: green on SSE, amber on
// long-poll, red while reconnecting or offline; the transport in the tooltip), the live balance.
import { useConnectionState, useCyberHub } from '@cyberhub/sdk/react';
import type { ConnectionState, User } from '@cyberhub/sdk';
import { money } from '../format';

function describe(s: ConnectionState): { colour: 'green' | 'amber' | 'red'; label: string } {
  if (s.state === 'connected') {
    return s.transport === 'sse'
      ? { colour: 'green', label: 'Live: connected over SSE' }
      : { colour: 'amber', label: 'Live: connected over long-poll (streaming is blocked on this network)' };
  }
  if (s.state === 'offline') return { colour: 'red', label: 'Offline: waiting for the network' };
  if (s.state === 'closed') return { colour: 'red', label: 'Not connected' };
  return { colour: 'red', label: `${s.state === 'connecting' ? 'Connecting' : 'Reconnecting'}${s.transport ? ` (${s.transport === 'sse' ? 'SSE' : 'long-poll'})` : ''}…` };
}

/** The connection indicator alone. */
export function ConnectionIndicator() {
  const state = useConnectionState();
  const { colour, label } = describe(state);
  return (
    <span className={`indicator ${colour}`} title={label} data-testid="indicator" data-colour={colour} data-state={state.state} data-transport={state.transport ?? ''}>
      <svg viewBox="0 0 24 24" width="22" height="22" aria-label={label} role="img">
        <path d="M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />
        <circle cx="12" cy="19" r="1.8" fill="currentColor" />
      </svg>
    </span>
  );
}

export function TopBar({ me }: { me: User | null }) {
  const client = useCyberHub();
  return (
    <header className="topbar">
      <strong className="brand">CyberHub</strong>
      <span className="spacer" />
      {me && (
        <>
          <span className="user">{me.username}{me.role === 'admin' ? ' (admin)' : ''}</span>
          <span className="balance" data-testid="balance" data-kopecks={me.balance}>{money(me.balance)}</span>
          <button className="link" onClick={() => void client.logout()}>Log out</button>
        </>
      )}
      <ConnectionIndicator />
    </header>
  );
}
