// The member's inventory, newest first, with a Sell button per item.
import { useState } from 'react';
import { useCyberHub, useInventory } from '@cyberhub/sdk/react';
import { useT } from '../i18n';

export function Inventory() {
  const client = useCyberHub();
  const { t, fmt, errorText } = useT();
  const inventory = useInventory();
  const [error, setError] = useState<unknown>(null);
  const sell = (id: number) => {
    setError(null);
    client.sell(id).catch(setError);
  };
  const items = inventory.data ?? [];
  return (
    <section className="panel inventory" data-testid="inventory">
      <h2>{t.inventory.title} <span className="count" title={t.inventory.count(items.length)}>{fmt.number(items.length)}</span></h2>
      {error !== null && <p className="error">{errorText(error)}</p>}
      {inventory.error && <p className="error">{errorText(inventory.error)}</p>}
      {inventory.loading && !inventory.data && <p className="muted">{t.loading}</p>}
      {items.length === 0 && !inventory.loading && <p className="muted">{t.inventory.empty}</p>}
      <ul>
        {items.map((item) => (
          <li key={item.id} className={`rarity-${item.rarity}`} data-testid="inventory-item">
            <span className="name">{item.name}</span>
            <span className="from">{item.case_name}</span>
            <button onClick={() => sell(item.id)}>{t.inventory.sell(fmt.money(item.value))}</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
