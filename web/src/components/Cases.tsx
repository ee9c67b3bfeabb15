// The case list: each case with its price and possible drops, an Open button, and the item won.
import { useState } from 'react';
import { useCases, useCyberHub } from '@cyberhub/sdk/react';
import type { InventoryItem } from '@cyberhub/sdk';
import { errorText, money } from '../format';

export function Cases() {
  const client = useCyberHub();
  const cases = useCases();
  const [won, setWon] = useState<Record<number, InventoryItem | string>>({});
  const [busy, setBusy] = useState<number | null>(null);
  const open = async (id: number) => {
    setBusy(id);
    try {
      const answer = await client.openCase(id);
      setWon((w) => ({ ...w, [id]: answer.item }));
    } catch (error) {
      setWon((w) => ({ ...w, [id]: errorText(error) }));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="panel cases" data-testid="cases">
      <h2>Cases</h2>
      {cases.loading && !cases.data && <p className="muted">Loading…</p>}
      {cases.error && <p className="error">{cases.error.message}</p>}
      <div className="case-list">
        {cases.data?.map((c) => {
          const result = won[c.id];
          return (
            <article key={c.id} className="case" data-testid="case" data-case-id={c.id}>
              <header>
                <h3>{c.name}</h3>
                <span className="price">{money(c.price)}</span>
              </header>
              <ul className="drops-possible">
                {c.items.map((i) => (
                  <li key={i.id} className={`rarity-${i.rarity}`}>{i.name}</li>
                ))}
              </ul>
              <button onClick={() => void open(c.id)} disabled={busy !== null}>{busy === c.id ? 'Opening…' : 'Open'}</button>
              {result && (typeof result === 'string'
                ? <p className="error">{result}</p>
                : <p className={`won rarity-${result.rarity}`} data-testid="won">You won {result.name} ({money(result.value)})</p>)}
            </article>
          );
        })}
      </div>
    </section>
  );
}
