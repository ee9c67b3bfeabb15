// Which language the page speaks, and the Intl helpers that depend on it. No React here, so the
// dictionaries and the error texts stay plain modules.

export type Locale = 'ru' | 'en';
export const LOCALES: readonly Locale[] = ['ru', 'en'];

/** The BCP 47 tag handed to Intl: the region decides money and clock conventions. */
export const INTL_TAG: Record<Locale, string> = { ru: 'ru-RU', en: 'en-US' };

/** Where the visitor's explicit choice is kept; it wins over the browser's languages. */
export const LOCALE_KEY = 'cyberhub.locale';

/**
 * The browser's preference: the first language whose primary subtag we speak decides, so
 * "de-DE, ru, en" gives Russian; with none of ours, English.
 */
export function preferredLocale(languages: readonly string[]): Locale {
  for (const tag of languages) {
    const primary = tag.split('-')[0]!.toLowerCase();
    if ((LOCALES as readonly string[]).includes(primary)) return primary as Locale;
  }
  return 'en';
}

/** The stored choice if there is a valid one, else the browser's preference. */
export function initialLocale(): Locale {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(LOCALE_KEY);
  } catch {
    // Storage may be off (privacy mode): fall back to the browser's languages.
  }
  if (stored && (LOCALES as readonly string[]).includes(stored)) return stored as Locale;
  const languages = navigator.languages?.length ? navigator.languages : [navigator.language];
  return preferredLocale(languages);
}

/** The word forms of a count, by CLDR category; Russian needs one/few/many ("1 предмет, 2 предмета, 5 предметов"). */
export type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };

const rules = new Map<Locale, { select: Intl.PluralRules; number: Intl.NumberFormat }>();

/** `n` followed by the right form of the word for it ("21 предмет", "1,000 items"). */
export function plural(locale: Locale, n: number, forms: PluralForms): string {
  let rule = rules.get(locale);
  if (!rule) {
    rule = { select: new Intl.PluralRules(INTL_TAG[locale]), number: new Intl.NumberFormat(INTL_TAG[locale]) };
    rules.set(locale, rule);
  }
  return `${rule.number.format(n)} ${forms[rule.select.select(n)] ?? forms.other}`;
}
