// The member's inventory, newest first, with a Sell button per item.
import { useState } from 'react';
import { useCyberHub, useInventory } from '@cyberhub/sdk/react';
import { errorText, money } from '../format';

export function Inventory() {
  const client = useCyberHub();
  const inventory = useInventory();
  const [error, setError] = useState<string | null>(null);
  const sell = (id: number) => {
    setError(null);
    client.sell(id).catch((e: unknown) => setError(errorText(e)));
  };
  const items = inventory.data ?? [];
  return (
    <section className="panel inventory" data-testid="inventory">
      <h2>Inventory <span className="count">{items.length}</span></h2>
      {error && <p className="error">{error}</p>}
      {items.length === 0 && !inventory.loading && <p className="muted">Nothing yet: open a case.</p>}
      <ul>
        {items.map((item) => (
          <li key={item.id} className={`rarity-${item.rarity}`} data-testid="inventory-item">
            <span className="name">{item.name}</span>
            <span className="from">{item.case_name}</span>
            <button onClick={() => sell(item.id)}>Sell {money(item.value)}</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
