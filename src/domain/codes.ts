/** Code lists from the registration form (DOMAIN.md), with Chinese and English labels. */

export interface CodeLabel {
  zh: string;
  en: string;
}

export const ENTITY_NATURES = {
  '010': { zh: '机关法人', en: 'Government body' },
  '021': { zh: '科研机构', en: 'Research institute' },
  '022': { zh: '高等院校', en: 'University' },
  '023': { zh: '医疗卫生', en: 'Medical or health institution' },
  '024': { zh: '其他事业单位', en: 'Other public institution' },
  '030': { zh: '社会团体', en: 'Social organisation' },
  '110': { zh: '国有企业', en: 'State-owned enterprise' },
  '120': { zh: '集体企业', en: 'Collective enterprise' },
  '130': { zh: '股份合作', en: 'Joint-stock cooperative' },
  '140': { zh: '联营企业', en: 'Joint venture' },
  '150': { zh: '有限责任公司', en: 'Limited liability company' },
  '160': { zh: '股份有限公司', en: 'Joint-stock company' },
  '170': { zh: '私营企业', en: 'Private enterprise' },
  '180': { zh: '其他企业', en: 'Other enterprise' },
  '200': { zh: '港澳台商投资企业', en: 'Hong Kong, Macao or Taiwan-invested enterprise' },
  '300': { zh: '外商投资企业', en: 'Foreign-invested enterprise' },
  '400': { zh: '个人', en: 'Individual' },
} as const satisfies Record<string, CodeLabel>;

export type EntityNature = keyof typeof ENTITY_NATURES;
export const ENTITY_NATURE_CODES = Object.keys(ENTITY_NATURES) as [EntityNature, ...EntityNature[]];

/** Options for a select: value and the label in the page's language. */
export function codeOptions(list: Record<string, CodeLabel>, lang: string): { value: string; label: string }[] {
  return Object.entries(list).map(([value, l]) => ({ value, label: lang === 'en' ? l.en : l.zh }));
}

export function codeLabel(list: Record<string, CodeLabel>, code: string | null | undefined, lang: string): string {
  if (!code) return '';
  const l = list[code];
  return l ? (lang === 'en' ? l.en : l.zh) : code;
}
