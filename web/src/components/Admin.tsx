// The admin view: create, edit and delete cases; post announcements. Items are edited as lines of
// "name | rarity | value in roubles | weight"; roubles may be typed with a comma or a dot.
import { useState, type FormEvent } from 'react';
import { useCases, useCyberHub } from '@cyberhub/sdk/react';
import type { Case, CaseInput, Rarity } from '@cyberhub/sdk';
import { parseKopecks, useT } from '../i18n';
import type { Formatters } from '../i18n/format';

interface CaseForm {
  name: string;
  price: string;
  items: string;
}

function toInput(form: CaseForm): CaseInput {
  return {
    name: form.name.trim(),
    price: parseKopecks(form.price),
    image_url: '',
    items: form.items.split('\n').filter((l) => l.trim()).map((line) => {
      const [name = '', rarity = 'common', value = '0', weight = '1'] = line.split('|').map((p) => p.trim());
      return { name, rarity: rarity as Rarity, value: parseKopecks(value), weight: Number(weight) };
    }),
  };
}

function toForm(c: Case, fmt: Formatters): CaseForm {
  return {
    name: c.name,
    price: fmt.decimal(c.price / 100),
    items: c.items.map((i) => `${i.name} | ${i.rarity} | ${fmt.decimal(i.value / 100)} | ${i.weight}`).join('\n'),
  };
}

type Done = 'created' | 'saved' | 'deleted' | 'announced';
type Notice = { done: Done } | { error: unknown } | { badNumber: true };

export function Admin() {
  const client = useCyberHub();
  const { t, fmt, errorText } = useT();
  const cases = useCases();
  const empty = (): CaseForm => ({ name: '', price: '', items: t.admin.sampleItems });
  const [form, setForm] = useState(empty);
  const [editing, setEditing] = useState<number | null>(null);
  const [announcement, setAnnouncement] = useState('');
  // Kept as a key or an error until shown, so a language switch applies to it too.
  const [notice, setNotice] = useState<Notice | null>(null);
  const run = (p: Promise<unknown>, done: Done) =>
    p.then(
      () => setNotice({ done }),
      (error: unknown) => {
        setNotice({ error });
        throw error;
      },
    );

  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = toInput(form);
    if ([input.price, ...input.items.flatMap((i) => [i.value, i.weight])].some(Number.isNaN)) return setNotice({ badNumber: true });
    const call = editing === null ? client.admin.createCase(input) : client.admin.updateCase(editing, input);
    run(call, editing === null ? 'created' : 'saved').then(() => {
      setForm(empty());
      setEditing(null);
    }, () => {});
  };
  const announce = (e: FormEvent) => {
    e.preventDefault();
    run(client.admin.announce(announcement), 'announced').then(() => setAnnouncement(''), () => {});
  };

  return (
    <section className="panel admin" data-testid="admin">
      <h2>{t.admin.title}</h2>
      {notice && ('done' in notice
        ? <p className="notice">{t.admin[notice.done]}</p>
        : <p className="error">{'error' in notice ? errorText(notice.error) : t.admin.badNumber}</p>)}
      <form onSubmit={save} className="case-form">
        <h3>{editing === null ? t.admin.newCase : t.admin.editCase(editing)}</h3>
        <input placeholder={t.admin.name} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <input placeholder={t.admin.price} inputMode="decimal" value={form.price} onChange={(e) => setForm({ ...form, price: e.target.value })} />
        <textarea rows={4} value={form.items} onChange={(e) => setForm({ ...form, items: e.target.value })} />
        <p className="hint">{t.admin.itemsHint}</p>
        <div>
          <button type="submit">{editing === null ? t.admin.create : t.admin.save}</button>
          {editing !== null && <button type="button" className="link" onClick={() => { setEditing(null); setForm(empty()); }}>{t.admin.cancel}</button>}
        </div>
      </form>
      <ul className="admin-cases">
        {cases.data?.map((c) => (
          <li key={c.id}>
            {c.name} <span className="muted">{fmt.money(c.price)} · {t.admin.items(c.items.length)}</span>
            <button className="link" onClick={() => { setEditing(c.id); setForm(toForm(c, fmt)); }}>{t.admin.edit}</button>
            <button className="link" onClick={() => void run(client.admin.deleteCase(c.id), 'deleted').catch(() => {})}>{t.admin.delete}</button>
          </li>
        ))}
      </ul>
      <form onSubmit={announce} className="announce">
        <h3>{t.admin.announcement}</h3>
        <input value={announcement} onChange={(e) => setAnnouncement(e.target.value)} placeholder={t.admin.announcementPlaceholder} />
        <button type="submit">{t.admin.post}</button>
      </form>
    </section>
  );
}
