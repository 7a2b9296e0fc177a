/**
 * Translations: Simplified Chinese by default, English switchable. The language comes
 * from the `lang` cookie (set by /lang/:lng); API clients may send Accept-Language.
 */
import i18next, { type i18n, type TFunction } from 'i18next';
import en from './en';
import zh from './zh-CN';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'zh-CN';

export function createI18n(): i18n {
  const instance = i18next.createInstance();
  void instance.init({
    initAsync: false,
    resources: { 'zh-CN': { translation: zh }, en: { translation: en } },
    lng: DEFAULT_LANGUAGE,
    fallbackLng: DEFAULT_LANGUAGE,
    supportedLngs: [...LANGUAGES],
    // EJS escapes output itself; escaping twice would show entities.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return instance;
}

export function isLanguage(v: unknown): v is Language {
  return typeof v === 'string' && (LANGUAGES as readonly string[]).includes(v);
}

/** Picks the language: cookie first, then the first supported Accept-Language entry. */
export function detectLanguage(cookieValue: unknown, acceptLanguage: string | undefined): Language {
  if (isLanguage(cookieValue)) return cookieValue;
  if (acceptLanguage) {
    for (const part of acceptLanguage.split(',')) {
      const tag = part.split(';')[0].trim().toLowerCase();
      if (tag.startsWith('zh')) return 'zh-CN';
      if (tag.startsWith('en')) return 'en';
    }
  }
  return DEFAULT_LANGUAGE;
}

export type { TFunction };
