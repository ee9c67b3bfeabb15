/**
 * The React context that hands one {@link CyberHubClient} to every hook below it: the seed's
 * `WebSocketContext`, typed.
 * @module
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { CyberHubClient } from '../client.js';

const ClientContext = createContext<CyberHubClient | null>(null);

/** Props of {@link CyberHubProvider}. */
export interface CyberHubProviderProps {
  /** The client the hooks use; create it once (outside render) and call `connect()` on it. */
  client: CyberHubClient;
  /** The app. */
  children?: ReactNode;
}

/** Makes `client` available to the CyberHub hooks of the tree below. */
export function CyberHubProvider({ client, children }: CyberHubProviderProps) {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
}

/** The client of the nearest {@link CyberHubProvider}; throws outside one. */
export function useCyberHub(): CyberHubClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useCyberHub: no <CyberHubProvider> above this component');
  return client;
}
