// The roulette of an opening: a strip of the case's items slides under a marker and stops on the
// item the server drew, in about the reveal delay (the time before the drop reaches everyone's
// feed), so nobody's screen shows the result before the opener's. The strip is drawn before the
// spin and its box never changes size: nothing below it jumps. Skippable; members who prefer
// reduced motion get the result at once.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { CaseItem } from '@cyberhub/sdk';
import { useT } from '../i18n';

/** Tiles of the strip, and where the winner sits among them. */
const TILES = 40;
const WINNER_AT = 34;
const TILE_PX = 112;

/** A strip of tiles drawn by weight (how likely each item looks), with the winner at its place. */
function strip(items: CaseItem[], winnerId: number): CaseItem[] {
  const total = items.reduce((sum, i) => sum + Math.max(i.weight, 0), 0) || 1;
  const draw = () => {
    let ticket = Math.random() * total;
    for (const item of items) {
      ticket -= Math.max(item.weight, 0);
      if (ticket < 0) return item;
    }
    return items[items.length - 1]!;
  };
  const winner = items.find((i) => i.id === winnerId) ?? items[0]!;
  return Array.from({ length: TILES }, (_, n) => (n === WINNER_AT ? winner : draw()));
}

function prefersReducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

export function Roulette({ items, winnerId, durationMs, onDone }: {
  items: CaseItem[];
  winnerId: number;
  durationMs: number;
  onDone(): void;
}) {
  const { t } = useT();
  const tiles = useMemo(() => strip(items, winnerId), [items, winnerId]);
  const viewport = useRef<HTMLDivElement>(null);
  const track = useRef<HTMLDivElement>(null);
  const [done, setDone] = useState(false);
  const finish = () => {
    if (done) return;
    setDone(true);
    onDone();
  };
  // Where the winner's centre meets the marker (the window's centre); a little off the middle of
  // the tile, so it does not look computed.
  useLayoutEffect(() => {
    const box = viewport.current;
    const strip = track.current;
    if (!box || !strip) return;
    if (prefersReducedMotion() || durationMs <= 0) {
      finish();
      return;
    }
    const jitter = (Math.random() - 0.5) * TILE_PX * 0.6;
    const target = WINNER_AT * TILE_PX + TILE_PX / 2 + jitter - box.clientWidth / 2;
    // The transition runs from the first frame's position: set it after the strip was laid out.
    strip.style.transition = 'none';
    strip.style.transform = 'translateX(0px)';
    const frame = requestAnimationFrame(() => {
      strip.style.transition = `transform ${durationMs}ms cubic-bezier(0.12, 0.8, 0.2, 1)`;
      strip.style.transform = `translateX(${-target}px)`;
    });
    return () => cancelAnimationFrame(frame);
    // Once per spin: the component is mounted anew for each opening.
  }, []);
  // The transition's end, or a timer in case the tab was hidden and no transitionend came.
  useEffect(() => {
    if (durationMs <= 0) return;
    const timer = setTimeout(finish, durationMs + 150);
    return () => clearTimeout(timer);
  });
  return (
    <div className="roulette" data-testid="roulette" data-winner={winnerId} data-done={done}>
      <div className="roulette-window" ref={viewport}>
        <div className="roulette-track" ref={track} onTransitionEnd={finish}>
          {tiles.map((item, n) => (
            <span key={n} className={`roulette-tile rarity-${item.rarity}`} data-item-id={item.id} data-winner={n === WINNER_AT || undefined}>
              {item.name}
            </span>
          ))}
        </div>
        <span className="roulette-marker" aria-hidden="true" />
      </div>
      {!done && (
        <button type="button" className="link skip" onClick={finish} data-testid="roulette-skip">{t.cases.skip}</button>
      )}
    </div>
  );
}
