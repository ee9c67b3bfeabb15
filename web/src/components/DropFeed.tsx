// The live drop feed: everyone's wins as they happen, coloured by rarity.
import { useDrops } from '@cyberhub/sdk/react';
import { clock, money } from '../format';

export function DropFeed() {
  const drops = useDrops(15);
  return (
    <section className="panel feed" data-testid="drops">
      <h2>Live drops</h2>
      {drops.data?.length === 0 && <p className="muted">No drops yet.</p>}
      <ul>
        {drops.data?.map((d) => (
          <li key={d.id} className={`rarity-${d.rarity}`} data-testid="drop">
            <span className="time">{clock(d.at)}</span> <b>{d.username}</b> won <span className="item">{d.item}</span>{' '}
            <span className="muted">from {d.case} · {money(d.value)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
