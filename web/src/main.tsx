// Entry point: one client for the page, created outside React so that re-renders (and StrictMode's
// double effects) never open a second stream. The token lives in localStorage so that every tab of
// the site is logged in as the same member and the tabs share one stream.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient } from '@cyberhub/sdk';
import { CyberHubProvider } from '@cyberhub/sdk/react';
import { App } from './App';
import { I18nProvider } from './i18n';
import './styles.css';

const TOKEN_KEY = 'cyberhub.token';
const client = createClient({ baseUrl: location.origin, token: localStorage.getItem(TOKEN_KEY) });
client.onTokenChange((token) => {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
});
client.connect();
// For the browser tests and for poking at it from the console.
(window as unknown as { cyberhub: typeof client }).cyberhub = client;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nProvider>
      <CyberHubProvider client={client}>
        <App />
      </CyberHubProvider>
    </I18nProvider>
  </StrictMode>,
);
