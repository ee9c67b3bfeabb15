// Numbers, money and times in the page's language, all through Intl.
import { INTL_TAG, type Locale } from './locale';

export interface Formatters {
  /** Kopecks (the wire's unit) as roubles: "1 250,00 ₽" in Russian, "RUB 1,250.00" in English. */
  money(kopecks: number): string;
  /** A count or other plain number: "1 250" / "1,250". */
  number(n: number): string;
  /** Roubles for an input field the admin edits: no grouping, the locale's decimal sign ("12,5"). */
  decimal(n: number): string;
  /** A Unix-ms time as hours and minutes. */
  time(ms: number): string;
  /** A Unix-ms moment that may be another day (a mute's end): the time, with the date when not today. */
  moment(ms: number): string;
}

export function formatters(locale: Locale): Formatters {
  const tag = INTL_TAG[locale];
  const rub = new Intl.NumberFormat(tag, { style: 'currency', currency: 'RUB', minimumFractionDigits: 2 });
  const number = new Intl.NumberFormat(tag);
  const decimal = new Intl.NumberFormat(tag, { useGrouping: false, maximumFractionDigits: 2 });
  const time = new Intl.DateTimeFormat(tag, { hour: '2-digit', minute: '2-digit' });
  const dated = new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  return {
    money: (kopecks) => rub.format(kopecks / 100),
    number: (n) => number.format(n),
    decimal: (n) => decimal.format(n),
    time: (ms) => time.format(ms),
    moment: (ms) => (new Date(ms).toDateString() === new Date().toDateString() ? time : dated).format(ms),
  };
}

/** Reads roubles typed by hand in either convention ("12,5", "12.50", "1 250 ₽") as kopecks. */
export function parseKopecks(text: string): number {
  return Math.round(Number(text.replace(/[\s₽]/g, '').replace(',', '.')) * 100);
}
