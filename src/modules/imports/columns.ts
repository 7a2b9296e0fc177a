/**
 * The import's columns (API.md "Bringing in earlier registrations"): their keys, the Chinese
 * headers of the template (the filing form's labels where it has them), the header row of a
 * file matched against either, and the code lists read by key or by name.
 */
import { CONTRACT_SUBTYPES, CONTRACT_TYPES, ENTITY_NATURES, IP_TYPES, OBJECTIVES, PAYMENT_METHODS, PLAN_SOURCES, PRIORITY_AREAS, TECHNICAL_FIELDS, type CodeLabel } from '../../domain/codes';
import en from '../../i18n/en';
import zh, { type Messages } from '../../i18n/zh-CN';

export const IMPORT_COLUMNS = [
  'registrationNumber', 'registeredAt', 'title', 'contractNumber', 'type', 'subtype', 'signedOn', 'validFrom', 'validTo',
  'contractAmount', 'technicalAmount', 'sellerName', 'sellerUscc', 'sellerNature', 'sellerRegionCode',
  'buyerName', 'buyerUscc', 'buyerNature', 'buyerRegionCode', 'buyerCountry',
  'technicalField', 'ipType', 'socioEconomicObjective', 'priorityArea', 'paymentMethod', 'planSource', 'relatedParty',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** Columns a file must have (API.md: required for every row; the sub-type is required only where the type has them). */
export const REQUIRED_COLUMNS: readonly ImportColumn[] = ['registrationNumber', 'registeredAt', 'title', 'type', 'contractAmount', 'technicalAmount', 'sellerName', 'buyerName'];

/** The code list each coded column takes, with the name of its table in the template's code sheet. */
export const CODE_COLUMNS: Partial<Record<ImportColumn, { list: keyof Messages['imports']['lists']; codes: Record<string, CodeLabel> }>> = {
  type: { list: 'type', codes: CONTRACT_TYPES },
  sellerNature: { list: 'nature', codes: ENTITY_NATURES },
  buyerNature: { list: 'nature', codes: ENTITY_NATURES },
  technicalField: { list: 'technicalField', codes: TECHNICAL_FIELDS },
  ipType: { list: 'ipType', codes: IP_TYPES },
  socioEconomicObjective: { list: 'socioEconomicObjective', codes: OBJECTIVES },
  priorityArea: { list: 'priorityArea', codes: PRIORITY_AREAS },
  paymentMethod: { list: 'paymentMethod', codes: PAYMENT_METHODS },
  planSource: { list: 'planSource', codes: PLAN_SOURCES },
};

export const DATE_COLUMNS: readonly ImportColumn[] = ['registeredAt', 'signedOn', 'validFrom', 'validTo'];

/** A column's header in a language: the filing form's label where there is one, else the import's own. */
export function columnLabel(key: ImportColumn, lang: 'zh-CN' | 'en' = 'zh-CN'): string {
  const m = lang === 'en' ? en : zh;
  const form: Partial<Record<ImportColumn, string>> = {
    registrationNumber: m.contracts.registrationNumber,
    title: m.contracts.title,
    contractNumber: m.contracts.contractNumber,
    type: m.contracts.type,
    subtype: m.contracts.subtype,
    signedOn: m.contracts.signedOn,
    validFrom: m.contracts.validFrom,
    validTo: m.contracts.validTo,
    contractAmount: m.contracts.contractAmount,
    technicalAmount: m.contracts.technicalAmount,
    technicalField: m.contracts.technicalField,
    ipType: m.contracts.ipType,
    socioEconomicObjective: m.contracts.objective,
    priorityArea: m.contracts.priorityArea,
    paymentMethod: m.contracts.paymentMethod,
    planSource: m.contracts.planSource,
    relatedParty: m.imports.lists.relatedParty,
  };
  return form[key] ?? m.imports.columns[key as keyof Messages['imports']['columns']];
}

/**
 * The form people compare text in: compatibility forms folded (full-width letters, digits and
 * brackets become ordinary ones), spaces and required-marks (*) dropped, lower case.
 */
export const normalise = (s: string) => s.normalize('NFKC').replace(/[\s*]/g, '').toLowerCase();

const HEADERS: Map<string, ImportColumn> = new Map(
  IMPORT_COLUMNS.flatMap((k) => [normalise(k), normalise(columnLabel(k, 'zh-CN')), normalise(columnLabel(k, 'en'))].map((h) => [h, k] as [string, ImportColumn])),
);

export interface HeaderMap {
  /** The column index of each import field found. */
  columns: Partial<Record<ImportColumn, number>>;
  /** Headers that are not import fields (ignored, and said so). */
  ignored: string[];
  missing: ImportColumn[];
  duplicate: string | null;
}

/** Reads a header row: which column holds which field. */
export function mapHeader(cells: (string | undefined)[]): HeaderMap {
  const columns: Partial<Record<ImportColumn, number>> = {};
  const ignored: string[] = [];
  let duplicate: string | null = null;
  cells.forEach((raw, i) => {
    const text = (raw ?? '').trim();
    if (!text) return;
    const key = HEADERS.get(normalise(text));
    if (!key) ignored.push(text);
    else if (columns[key] !== undefined) duplicate ??= text;
    else columns[key] = i;
  });
  return { columns, ignored, missing: REQUIRED_COLUMNS.filter((k) => columns[k] === undefined), duplicate };
}

/** Code lookups by code, Chinese name or English name (normalised), built once per list. */
const indexes = new WeakMap<object, Map<string, string>>();
function indexOf(codes: Record<string, CodeLabel>): Map<string, string> {
  let idx = indexes.get(codes);
  if (!idx) {
    idx = new Map();
    for (const [key, l] of Object.entries(codes)) for (const name of [key, l.zh, l.en]) idx.set(normalise(name), key);
    indexes.set(codes, idx);
  }
  return idx;
}

/** A code given as its key ("transfer", "150"), its name ("技术转让"), or both ("150 有限责任公司"); null when none fits. */
export function lookupCode(codes: Record<string, CodeLabel>, value: string): string | null {
  const idx = indexOf(codes);
  const direct = idx.get(normalise(value));
  if (direct) return direct;
  const both = /^\s*([^\s:：\-—、|]+)\s*[\s:：\-—、|]\s*(.+?)\s*$/.exec(value);
  if (both) {
    const a = idx.get(normalise(both[1]));
    if (a && (a === idx.get(normalise(both[2])) || !idx.has(normalise(both[2])))) return a;
  }
  return null;
}

/** The sub-types of a type, by key or name (names repeat across types, so the type decides). */
export function lookupSubtype(type: keyof typeof CONTRACT_SUBTYPES, value: string): string | null {
  return lookupCode(CONTRACT_SUBTYPES[type], value);
}
