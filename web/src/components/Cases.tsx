// The case list: each case with its price and possible drops (anyone may look), an Open button,
// the roulette that lands on the item drawn, and then the item won. A visitor's Open button asks to
// log in instead of calling the server.
import { useEffect, useState } from 'react';
import { useCases, useCyberHub } from '@cyberhub/sdk/react';
import type { OpenCaseResponse } from '@cyberhub/sdk';
import { useT } from '../i18n';
import { Roulette } from './Roulette';

export function Cases({ signedIn, onSignIn }: { signedIn: boolean; onSignIn(): void }) {
  const client = useCyberHub();
  const { t, fmt, errorText } = useT();
  const cases = useCases();
  // The opening (shown once its roulette has run), or the error of the last try (translated when
  // shown, so a language switch applies).
  const [won, setWon] = useState<Record<number, { opened: OpenCaseResponse; shown: boolean } | { error: unknown }>>({});
  const [busy, setBusy] = useState<number | null>(null);
  // A shared club PC: the next member must not see what the last one won.
  useEffect(() => setWon({}), [signedIn]);
  const reveal = (id: number) =>
    setWon((w) => {
      const result = w[id];
      return result && 'opened' in result ? { ...w, [id]: { ...result, shown: true } } : w;
    });
  const open = async (id: number) => {
    if (!signedIn) return onSignIn();
    setBusy(id);
    try {
      const opened = await client.openCase(id);
      setWon((w) => ({ ...w, [id]: { opened, shown: opened.reveal_in_ms <= 0 } }));
    } catch (error) {
      setWon((w) => ({ ...w, [id]: { error } }));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="panel cases" data-testid="cases">
      <h2>{t.cases.title}</h2>
      {cases.loading && !cases.data && <p className="muted">{t.loading}</p>}
      {cases.error && <p className="error">{errorText(cases.error)}</p>}
      {cases.data?.length === 0 && <p className="muted">{t.cases.empty}</p>}
      <div className="case-list">
        {cases.data?.map((c) => {
          const result = won[c.id];
          return (
            <article key={c.id} className="case" data-testid="case" data-case-id={c.id}>
              <header>
                <h3>{c.name}</h3>
                <span className="price" data-kopecks={c.price}>{fmt.money(c.price)}</span>
              </header>
              <p className="possible muted">{t.cases.possible(c.items.length)}</p>
              <ul className="drops-possible">
                {c.items.map((i) => (
                  <li key={i.id} className={`rarity-${i.rarity}`} title={t.rarity[i.rarity]} data-testid="case-item">
                    <span className="name">{i.name}</span> <span className="value">{fmt.money(i.value)}</span>
                  </li>
                ))}
              </ul>
              {result && 'opened' in result && !result.shown && (
                <Roulette key={result.opened.item.id} items={c.items} winnerId={result.opened.case_item_id}
                  durationMs={result.opened.reveal_in_ms} onDone={() => reveal(c.id)} />
              )}
              <button type="button" onClick={() => void open(c.id)} disabled={busy !== null || Boolean(result && 'opened' in result && !result.shown)} data-testid="open">
                {!signedIn ? t.cases.signInToOpen : busy === c.id ? t.cases.opening : t.cases.open}
              </button>
              {result && ('error' in result
                ? <p className="error" data-testid="open-error">{errorText(result.error)}</p>
                : result.shown && <p className={`won rarity-${result.opened.item.rarity}`} data-testid="won" data-case-item-id={result.opened.case_item_id}>{t.cases.won(result.opened.item.name, fmt.money(result.opened.item.value))}</p>)}
            </article>
          );
        })}
      </div>
    </section>
  );
}
