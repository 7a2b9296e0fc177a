/**
 * The filing form: turning its fields into the service's input, and a saved filing back
 * into form values (amounts grouped, invalid entries exactly as typed).
 */
import { CONTRACT_SUBTYPES, type CodeLabel } from '../../domain/codes';
import { LIMITS, type Issue, type Party } from '../../domain/contract-input';
import { findRegion, regionChoices } from '../../domain/regions';
import { formatYuanGrouped } from '../../domain/money';
import { maskResidentId } from '../../domain/resident-id';
import { fieldsOf, type ContractRecord } from './contracts.service';

export const MIN_DEDUCTION_ROWS = 2;
const PARTY_KEYS: (keyof Party)[] = ['name', 'uscc', 'idNumber', 'nature', 'legalRepresentative', 'contactPerson', 'phone', 'email', 'address', 'country'];

type Body = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Body => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : {});
const rows = (v: unknown): Body[] => (Array.isArray(v) ? v.map(obj) : Object.values(obj(v)).map(obj));

/** The region picker's three selects become one code: the most precise one chosen. */
function regionFromPicker(p: Body): string {
  return str(p.regionDistrict) || str(p.regionCity) || str(p.regionProvince) || '';
}

function partyFromForm(p: Body): Body {
  const out: Body = {};
  for (const k of PARTY_KEYS) out[k] = str(p[k]) ?? '';
  const region = regionFromPicker(p);
  // A province alone is not precise enough; keep it so the picker stays where it was.
  out.regionCode = region;
  return out;
}

export interface FormAction {
  kind: 'save' | 'submit' | 'addBuyer' | 'removeBuyer' | 'refresh';
  index?: number;
  /** A co-seller row to drop; the form is then shown again, like after "update choices". */
  removeCoSeller?: number;
}

export function formAction(body: Body): FormAction {
  const a = str(body.action) ?? 'save';
  const m = /^removeBuyer-(\d{1,2})$/.exec(a);
  if (m) return { kind: 'removeBuyer', index: Number(m[1]) };
  const co = /^removeCoSeller-(\d{1,2})$/.exec(a);
  if (co) return { kind: 'refresh', removeCoSeller: Number(co[1]) };
  if (a === 'submit' || a === 'addBuyer' || a === 'refresh') return { kind: a };
  return { kind: 'save' };
}

/** The service input for a posted form, plus every raw string by field path (to keep invalid ones). */
export function formToInput(body: Body, action: FormAction): { input: Body; raw: Map<string, string> } {
  let subtype = str(body.subtype) ?? '';
  const type = str(body.type) ?? '';
  // Sub-types are offered grouped by type, as "type:subtype"; one of another type is refused.
  if (subtype.includes(':')) {
    const [t, s] = subtype.split(':');
    subtype = !type || t === type ? s : 'not-of-this-type';
  }
  let buyers = rows(body.buyers).map(partyFromForm);
  if (action.kind === 'removeBuyer') buyers = buyers.filter((_, i) => i !== action.index);
  const coSellers = rows(body.coSellers).map(partyFromForm).filter((_, i) => i !== action.removeCoSeller);
  const input: Body = {
    direction: str(body.direction) ?? '',
    title: str(body.title) ?? '',
    contractNumber: str(body.contractNumber) ?? '',
    type,
    subtype,
    signedOn: str(body.signedOn) ?? '',
    validFrom: str(body.validFrom) ?? '',
    validTo: str(body.validTo) ?? '',
    contractAmount: str(body.contractAmount) ?? '',
    technicalAmount: str(body.technicalAmount) ?? '',
    deductions: rows(body.deductions).map((d) => ({ item: str(d.item) ?? '', amount: str(d.amount) ?? '' })),
    paymentMethod: str(body.paymentMethod) ?? '',
    relatedParty: str(body.relatedParty),
    planSource: str(body.planSource) ?? '',
    ipType: str(body.ipType) ?? '',
    technicalField: str(body.technicalField) ?? '',
    socioEconomicObjective: str(body.socioEconomicObjective) ?? '',
    priorityArea: str(body.priorityArea) ?? '',
    seller: partyFromForm(obj(body.seller)),
    coSellers,
    buyers,
    declaration: str(body.declaration),
  };
  const raw = new Map<string, string>();
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') raw.set(path, v);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  walk(input, '');
  return { input, raw };
}

/** "buyers.0.phone" → "buyers[0][phone]"; a party's region goes to its province select. */
export function fieldForPath(path: string): string {
  const parts = path.split('.');
  if (parts[parts.length - 1] === 'regionCode') parts[parts.length - 1] = 'regionProvince';
  return parts.length === 1 ? parts[0] : parts[0] + parts.slice(1).map((p) => `[${p}]`).join('');
}

/**
 * The co-seller rows of the form travel inside `values` under this key (as JSON), since the
 * page passes the form its values and counts only: how many rows, and each row's region choices.
 */
export const CO_SELLER_ROWS = '@coSellers';

export interface CoSellerRows {
  /** Saved rows plus one blank row to add another (none once the limit is reached). */
  count: number;
  /** Rows holding a saved (or typed but invalid) co-seller; the rest is the blank row. */
  saved: number;
  regions: ReturnType<typeof regionChoices>[];
}

/** Form values (flat, by field name) for a saved filing, with `extraBuyers` blank buyer rows. */
export function formValues(doc: ContractRecord, extraBuyers = 0): { values: Record<string, string>; buyerCount: number; deductionCount: number } {
  const f = fieldsOf(doc);
  const values: Record<string, string> = {};
  values.direction = f.direction ?? 'domestic';
  const put = (name: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') values[name] = String(v);
  };
  for (const k of ['title', 'contractNumber', 'type', 'signedOn', 'validFrom', 'validTo', 'paymentMethod', 'planSource', 'ipType', 'technicalField', 'socioEconomicObjective', 'priorityArea'] as const) put(k, f[k]);
  if (f.type && f.subtype) put('subtype', `${f.type}:${f.subtype}`);
  if (f.contractAmountFen !== undefined) put('contractAmount', formatYuanGrouped(f.contractAmountFen));
  if (f.technicalAmountFen !== undefined) put('technicalAmount', formatYuanGrouped(f.technicalAmountFen));
  if (f.relatedParty) put('relatedParty', 'on');
  if (f.declaration) put('declaration', 'on');
  (f.deductions ?? []).forEach((d, i) => {
    put(`deductions[${i}][item]`, d.item);
    put(`deductions[${i}][amount]`, formatYuanGrouped(d.amountFen));
  });
  const putParty = (prefix: string, p: Party | undefined) => {
    if (!p) return;
    // The applicant sees ID numbers masked; sending the mask back keeps the stored number.
    for (const k of PARTY_KEYS) put(`${prefix}[${k}]`, k === 'idNumber' && p.idNumber ? maskResidentId(p.idNumber) : p[k]);
    putRegion(prefix, p.regionCode);
  };
  const putRegion = (prefix: string, code: string | undefined) => {
    const r = code ? findRegion(code) : undefined;
    if (!r) return;
    const chain: string[] = [];
    for (let x: typeof r | undefined = r; x; x = x.parent ? findRegion(x.parent) : undefined) chain.unshift(x.code);
    const [province, city, district] = chain;
    put(`${prefix}[regionProvince]`, province);
    put(`${prefix}[regionCity]`, city);
    put(`${prefix}[regionDistrict]`, district);
  };
  putParty('seller', f.seller);
  (f.coSellers ?? []).forEach((c, i) => putParty(`coSellers[${i}]`, c));
  (f.buyers ?? []).forEach((b, i) => putParty(`buyers[${i}]`, b));
  // What was typed but not valid is shown back exactly as typed.
  for (const r of doc.draftRaw ?? []) {
    if (!r.path) continue;
    if (r.path.endsWith('.regionCode')) putRegion(fieldForPath(r.path).replace(/\[regionProvince\]$/, ''), r.value ?? undefined);
    else values[fieldForPath(r.path)] = r.value ?? '';
  }
  const savedBuyers = Math.max(f.buyers?.length ?? 0, ...(doc.draftRaw ?? []).map((r) => (/^buyers\.(\d+)\./.exec(r.path ?? '') ? Number(RegExp.$1) + 1 : 0)));
  const savedCoSellers = Math.max(f.coSellers?.length ?? 0, ...(doc.draftRaw ?? []).map((r) => (/^coSellers\.(\d+)\./.exec(r.path ?? '') ? Number(RegExp.$1) + 1 : 0)));
  const coSellerCount = Math.min(LIMITS.coSellers, savedCoSellers + 1);
  const rowsView: CoSellerRows = {
    count: coSellerCount,
    saved: Math.min(LIMITS.coSellers, savedCoSellers),
    regions: Array.from({ length: coSellerCount }, (_, i) =>
      regionChoices({
        regionProvince: values[`coSellers[${i}][regionProvince]`],
        regionCity: values[`coSellers[${i}][regionCity]`],
        regionDistrict: values[`coSellers[${i}][regionDistrict]`],
      }),
    ),
  };
  values[CO_SELLER_ROWS] = JSON.stringify(rowsView);
  return {
    values,
    buyerCount: Math.max(1, savedBuyers + extraBuyers),
    deductionCount: Math.max(MIN_DEDUCTION_ROWS, (f.deductions?.length ?? 0) + 1),
  };
}

/** Issues keyed by form field name, for errors beside the fields. */
export function issuesByField(issues: Issue[], translate: (i: Issue) => string) {
  const errors: Record<string, string> = {};
  const summary: { field: string; message: string }[] = [];
  for (const i of issues) {
    const field = fieldForPath(i.path);
    const message = translate(i);
    if (!errors[field]) errors[field] = message;
    summary.push({ field, message });
  }
  return { errors, summary };
}

/** Sub-type options grouped by type, for one select that works without JavaScript. */
export function subtypeGroups(lang: string) {
  return Object.entries(CONTRACT_SUBTYPES)
    .filter(([, subs]) => Object.keys(subs).length)
    .map(([type, subs]) => ({
      type,
      options: Object.entries(subs as Record<string, CodeLabel>).map(([value, l]) => ({ value: `${type}:${value}`, label: lang === 'en' ? l.en : l.zh })),
    }));
}
