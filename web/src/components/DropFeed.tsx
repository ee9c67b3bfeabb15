// The live drop feed: everyone's wins as they happen, coloured by rarity (anyone may watch).
import { useDrops } from '@cyberhub/sdk/react';
import { useT } from '../i18n';

export function DropFeed() {
  const { t, fmt, errorText } = useT();
  const drops = useDrops(15);
  return (
    <section className="panel feed" data-testid="drops">
      <h2>{t.drops.title}</h2>
      {drops.loading && !drops.data && <p className="muted">{t.loading}</p>}
      {drops.error && <p className="error">{errorText(drops.error)}</p>}
      {drops.data?.length === 0 && <p className="muted">{t.drops.empty}</p>}
      <ul>
        {drops.data?.map((d) => (
          <li key={d.id} className={`rarity-${d.rarity}`} data-testid="drop">
            <span className="time">{fmt.time(d.at)}</span> <b>{d.username}</b> {t.drops.won} <span className="item">{d.item}</span>{' '}
            <span className="muted">{t.drops.from(d.case, fmt.money(d.value))}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
