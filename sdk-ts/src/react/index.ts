/**
 * `@cyberhub/sdk/react`: a provider and hooks that load state over REST and keep it current from
 * the stream. React is a peer dependency of this entry point only.
 * @module
 */
export { CyberHubProvider, useCyberHub, type CyberHubProviderProps } from './provider.js';
export {
  useConnectionState,
  useMe,
  useCases,
  useInventory,
  useDrops,
  useAnnouncements,
  useChat,
  type ChatState,
  type ReceivedAnnouncement,
} from './hooks.js';
export type { LiveState } from './live.js';
