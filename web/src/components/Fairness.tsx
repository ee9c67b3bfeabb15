// The fairness view: the member's current seed pair (the server seed's hash, committed before any
// opening; the client seed, theirs to set; the next nonce), starting a new pair (which reveals the
// old server seed), and their openings, each checkable in the browser with WebCrypto from the
// revealed values (editable, so anyone can see a changed value fail).
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { verifyOpening, type Fairness as Pair, type Opening, type Verification } from '@cyberhub/sdk';
import { useCyberHub } from '@cyberhub/sdk/react';
import { useT } from '../i18n';

function OpeningCheck({ opening }: { opening: Opening }) {
  const { t, fmt } = useT();
  const [seed, setSeed] = useState(opening.server_seed ?? '');
  const [clientSeed, setClientSeed] = useState(opening.fair.client_seed);
  const [nonce, setNonce] = useState(String(opening.fair.nonce));
  const [verdict, setVerdict] = useState<Verification | null>(null);
  const won = opening.items.find((i) => i.id === opening.won_item_id);
  const check = async (e: FormEvent) => {
    e.preventDefault();
    const edited: Opening = { ...opening, fair: { ...opening.fair, client_seed: clientSeed, nonce: Number(nonce) } };
    setVerdict(await verifyOpening(edited, seed.trim()));
  };
  const drawn = verdict?.item_id != null ? opening.items.find((i) => i.id === verdict.item_id) : undefined;
  return (
    <li className="opening" data-testid="opening" data-opening-id={opening.id}>
      <span>
        {fmt.moment(opening.opened_at)} · {opening.case_name} · <b className={`rarity-${won?.rarity ?? 'common'}`}>{won?.name}</b>
        {' '}· {t.fairness.nonce} {opening.fair.nonce}
      </span>
      {opening.server_seed === null ? (
        <span className="muted" data-testid="not-revealed">{t.fairness.notRevealed}</span>
      ) : (
        <form className="check" onSubmit={(e) => void check(e)}>
          <input aria-label={t.fairness.serverSeed} value={seed} onChange={(e) => setSeed(e.target.value)} data-testid="verify-seed" />
          <input aria-label={t.fairness.nonce} value={nonce} onChange={(e) => setNonce(e.target.value)} inputMode="numeric" data-testid="verify-nonce" />
          <button type="submit" data-testid="verify">{t.fairness.check}</button>
          <input aria-label={t.fairness.clientSeed} value={clientSeed} onChange={(e) => setClientSeed(e.target.value)} data-testid="verify-client-seed" />
        </form>
      )}
      {verdict && (
        <span className={`verdict ${verdict.valid ? 'valid' : 'invalid'}`} data-testid="verdict" data-valid={verdict.valid}>
          {verdict.valid
            ? t.fairness.valid(won?.name ?? '', verdict.roll)
            : verdict.hash_matches ? t.fairness.otherItem(drawn?.name ?? '—') : t.fairness.hashMismatch}
        </span>
      )}
    </li>
  );
}

export function Fairness() {
  const client = useCyberHub();
  const { t, errorText } = useT();
  const [pair, setPair] = useState<Pair | null>(null);
  const [openings, setOpenings] = useState<Opening[]>([]);
  const [seed, setSeed] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const [now, list] = await Promise.all([client.fairness(), client.openings({ limit: 20 })]);
      setPair(now);
      setOpenings(list);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [client]);
  useEffect(() => {
    void load();
    // A new opening moves the nonce and adds a line.
    return client.onInventoryUpdated((e) => {
      if (e.fair) void load();
    });
  }, [client, load]);
  const rotate = async (clientSeed: string | null) => {
    try {
      const rotation = clientSeed === null ? await client.rotateSeeds() : await client.setClientSeed(clientSeed);
      setNotice(t.fairness.revealed(rotation.revealed.server_seed));
      setSeed('');
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="panel fairness" data-testid="fairness">
      <h2>{t.fairness.title}</h2>
      <p className="muted">{t.fairness.explain}</p>
      {error !== null && <p className="error">{errorText(error)}</p>}
      {pair && (
        <dl>
          <dt>{t.fairness.serverSeedHash}</dt><dd data-testid="pair-hash">{pair.server_seed_hash}</dd>
          <dt>{t.fairness.clientSeed}</dt><dd data-testid="pair-client-seed">{pair.client_seed}</dd>
          <dt>{t.fairness.nextNonce}</dt><dd data-testid="pair-nonce">{pair.nonce}</dd>
        </dl>
      )}
      <form onSubmit={(e) => { e.preventDefault(); if (seed.trim()) void rotate(seed); }}>
        <input value={seed} onChange={(e) => setSeed(e.target.value)} maxLength={64} placeholder={t.fairness.newClientSeed} data-testid="client-seed" />
        <button type="submit">{t.fairness.setClientSeed}</button>
        <button type="button" onClick={() => void rotate(null)} data-testid="rotate">{t.fairness.rotate}</button>
      </form>
      {notice && <p className="notice" data-testid="revealed">{notice}</p>}
      <h3>{t.fairness.openings}</h3>
      {openings.length === 0 ? <p className="muted">{t.fairness.none}</p> : (
        <ol className="openings">{openings.map((o) => <OpeningCheck key={`${o.id}-${o.server_seed === null}`} opening={o} />)}</ol>
      )}
    </section>
  );
}
