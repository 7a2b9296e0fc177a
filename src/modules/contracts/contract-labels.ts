/** A contract's codes and amounts as people read them, in the page's language (the contract pages and 与我相关 share it). */
import {
  codeLabel,
  CONTRACT_SUBTYPES,
  CONTRACT_TYPES,
  DEDUCTION_ITEMS,
  ENTITY_NATURES,
  IP_TYPES,
  OBJECTIVES,
  PAYMENT_METHODS,
  PLAN_SOURCES,
  PRIORITY_AREAS,
  TECHNICAL_FIELDS,
} from '../../domain/codes';
import { countryName } from '../../domain/countries';
import { formatYuanGrouped } from '../../domain/money';
import { regionName } from '../../domain/regions';
import type { ContractDoc } from './contract.model';

type Labelled = Pick<
  ContractDoc,
  'type' | 'subtype' | 'contractAmountFen' | 'technicalAmountFen' | 'deductions' | 'paymentMethod' | 'planSource' | 'ipType' | 'technicalField' | 'socioEconomicObjective' | 'priorityArea'
>;

export function contractLabels(doc: Labelled, lang: string) {
  const subs = doc.type ? (CONTRACT_SUBTYPES as Record<string, Record<string, { zh: string; en: string }>>)[doc.type] : undefined;
  return {
    typeLabel: codeLabel(CONTRACT_TYPES, doc.type, lang),
    subtypeLabel: subs && doc.subtype ? codeLabel(subs, doc.subtype, lang) : '',
    contractAmountText: typeof doc.contractAmountFen === 'number' ? formatYuanGrouped(doc.contractAmountFen) : '',
    technicalAmountText: typeof doc.technicalAmountFen === 'number' ? formatYuanGrouped(doc.technicalAmountFen) : '',
    deductionsText: (doc.deductions ?? []).map((d) => ({ label: codeLabel(DEDUCTION_ITEMS, d.item, lang), amount: formatYuanGrouped(d.amountFen ?? 0) })),
    paymentLabel: codeLabel(PAYMENT_METHODS, doc.paymentMethod, lang),
    planLabel: codeLabel(PLAN_SOURCES, doc.planSource, lang),
    ipLabel: codeLabel(IP_TYPES, doc.ipType, lang),
    fieldLabel: codeLabel(TECHNICAL_FIELDS, doc.technicalField, lang),
    objectiveLabel: codeLabel(OBJECTIVES, doc.socioEconomicObjective, lang),
    priorityLabel: codeLabel(PRIORITY_AREAS, doc.priorityArea, lang),
  };
}

/** A party with its nature and place in words. */
export function partyLabels<P extends { nature?: string | null; country?: string | null; regionCode?: string | null }>(p: P, lang: string) {
  return {
    ...p,
    natureLabel: codeLabel(ENTITY_NATURES, p.nature ?? undefined, lang),
    place: p.country ? countryName(p.country, lang) : regionName(p.regionCode ?? undefined, lang),
  };
}
