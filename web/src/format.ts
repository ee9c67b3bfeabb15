// Money is an integer number of kopecks on the wire; shown in roubles.
const rub = new Intl.NumberFormat('ru-RU', { style: 'currency', currency: 'RUB', minimumFractionDigits: 2 });

/** Formats kopecks as roubles ("1 450,00 ₽"). */
export function money(kopecks: number): string {
  return rub.format(kopecks / 100);
}

/** Formats a Unix-ms time as HH:MM. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** The message of an error for a short inline notice. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
