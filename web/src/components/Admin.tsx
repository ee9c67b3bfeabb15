// The admin view: create, edit and delete cases; post announcements. Items are edited as lines of
// "name | rarity | value in roubles | weight".
import { useState, type FormEvent } from 'react';
import { useCases, useCyberHub } from '@cyberhub/sdk/react';
import type { Case, CaseInput, Rarity } from '@cyberhub/sdk';
import { errorText, money } from '../format';

const EMPTY = { name: '', price: '', items: 'Sticker | common | 5 | 10\nPoster | rare | 50 | 1' };

function toInput(form: typeof EMPTY): CaseInput {
  return {
    name: form.name.trim(),
    price: Math.round(Number(form.price) * 100),
    image_url: '',
    items: form.items.split('\n').filter((l) => l.trim()).map((line) => {
      const [name = '', rarity = 'common', value = '0', weight = '1'] = line.split('|').map((p) => p.trim());
      return { name, rarity: rarity as Rarity, value: Math.round(Number(value) * 100), weight: Number(weight) };
    }),
  };
}

function toForm(c: Case): typeof EMPTY {
  return {
    name: c.name,
    price: String(c.price / 100),
    items: c.items.map((i) => `${i.name} | ${i.rarity} | ${i.value / 100} | ${i.weight}`).join('\n'),
  };
}

export function Admin() {
  const client = useCyberHub();
  const cases = useCases();
  const [form, setForm] = useState(EMPTY);
  const [editing, setEditing] = useState<number | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const run = (p: Promise<unknown>, done: string) =>
    p.then(() => setNotice(done), (e: unknown) => setNotice(errorText(e)));

  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = toInput(form);
    void run(editing === null ? client.admin.createCase(input) : client.admin.updateCase(editing, input), editing === null ? 'Case created' : 'Case saved').then(() => {
      setForm(EMPTY);
      setEditing(null);
    });
  };
  const announce = (e: FormEvent) => {
    e.preventDefault();
    void run(client.admin.announce(announcement), 'Announced').then(() => setAnnouncement(''));
  };

  return (
    <section className="panel admin" data-testid="admin">
      <h2>Admin</h2>
      {notice && <p className="notice">{notice}</p>}
      <form onSubmit={save} className="case-form">
        <h3>{editing === null ? 'New case' : `Edit case #${editing}`}</h3>
        <input placeholder="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <input placeholder="price, ₽" value={form.price} onChange={(e) => setForm({ ...form, price: e.target.value })} />
        <textarea rows={4} value={form.items} onChange={(e) => setForm({ ...form, items: e.target.value })} />
        <div>
          <button type="submit">{editing === null ? 'Create' : 'Save'}</button>
          {editing !== null && <button type="button" className="link" onClick={() => { setEditing(null); setForm(EMPTY); }}>cancel</button>}
        </div>
      </form>
      <ul className="admin-cases">
        {cases.data?.map((c) => (
          <li key={c.id}>
            {c.name} <span className="muted">{money(c.price)} · {c.items.length} items</span>
            <button className="link" onClick={() => { setEditing(c.id); setForm(toForm(c)); }}>edit</button>
            <button className="link" onClick={() => void run(client.admin.deleteCase(c.id), 'Case deleted')}>delete</button>
          </li>
        ))}
      </ul>
      <form onSubmit={announce} className="announce">
        <h3>Announcement</h3>
        <input value={announcement} onChange={(e) => setAnnouncement(e.target.value)} placeholder="Tournament at 8 pm" />
        <button type="submit">Post</button>
      </form>
    </section>
  );
}
