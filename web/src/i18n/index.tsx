// The page's language as React state: `useT()` gives the texts, the locale, the switch and the
// formatters. The choice is stored so that it outlives a reload and reaches the site's other tabs.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, type Dictionary } from './en';
import { ru } from './ru';
import { errorText } from './errors';
import { formatters, type Formatters } from './format';
import { initialLocale, LOCALE_KEY, LOCALES, type Locale } from './locale';

export type { Dictionary } from './en';
export type { Locale } from './locale';
export { LOCALES } from './locale';
export { parseKopecks } from './format';

const DICTIONARIES: Record<Locale, Dictionary> = { en, ru };

export interface I18n {
  t: Dictionary;
  locale: Locale;
  setLocale(locale: Locale): void;
  fmt: Formatters;
  /** A refused call (or any error) as a short text in the page's language. */
  errorText(error: unknown): string;
}

const I18nContext = createContext<I18n | null>(null);

function remember(locale: Locale) {
  try {
    localStorage.setItem(LOCALE_KEY, locale);
  } catch {
    // Storage off: the choice lasts until the page is closed.
  }
}

export function I18nProvider({ children }: { children?: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);

  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === LOCALE_KEY && (LOCALES as readonly (string | null)[]).includes(e.newValue)) setLocaleState(e.newValue as Locale);
    };
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);

  const value = useMemo<I18n>(() => {
    const t = DICTIONARIES[locale];
    const fmt = formatters(locale);
    return {
      t,
      locale,
      fmt,
      setLocale: (next) => {
        remember(next);
        setLocaleState(next);
      },
      errorText: (error) => errorText(t, fmt, error),
    };
  }, [locale]);

  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = value.t.title;
  }, [locale, value]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useT(): I18n {
  const i18n = useContext(I18nContext);
  if (!i18n) throw new Error('useT: no <I18nProvider> above this component');
  return i18n;
}
