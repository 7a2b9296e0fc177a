/**
 * The filing form: turning its fields into the service's input, and a saved filing back
 * into form values (amounts grouped, invalid entries exactly as typed).
 */
import { CONTRACT_SUBTYPES, CONTRACT_TYPES, type CodeLabel } from '../../domain/codes';
import { isRequiredAtSubmission, LIMITS, type ContractFields, type Issue, type Party } from '../../domain/contract-input';
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
  kind: 'save' | 'submit' | 'addBuyer' | 'removeBuyer' | 'refresh' | 'upload' | 'removeFile';
  index?: number;
  /** A co-seller row to drop; the form is then shown again, like after "update choices". */
  removeCoSeller?: number;
  /** The attachment to remove (removeFile). */
  attachmentId?: string;
}

export function formAction(body: Body): FormAction {
  const a = str(body.action) ?? 'save';
  const m = /^removeBuyer-(\d{1,2})$/.exec(a);
  if (m) return { kind: 'removeBuyer', index: Number(m[1]) };
  const co = /^removeCoSeller-(\d{1,2})$/.exec(a);
  if (co) return { kind: 'refresh', removeCoSeller: Number(co[1]) };
  const file = /^removeFile-([0-9a-f]{24})$/.exec(a);
  if (file) return { kind: 'removeFile', attachmentId: file[1] };
  if (a === 'submit' || a === 'addBuyer' || a === 'refresh' || a === 'upload') return { kind: a };
  return { kind: 'save' };
}

/**
 * The service input for a posted form, plus every raw string by field path (to keep invalid
 * ones) and notes: problems of this post only (a sub-type left behind by a change of type).
 */
export function formToInput(body: Body, action: FormAction): { input: Body; raw: Map<string, string>; notes: Issue[] } {
  let subtype = str(body.subtype) ?? '';
  const type = str(body.type) ?? '';
  const notes: Issue[] = [];
  // Sub-types are offered as "type:subtype". One of another type (chosen before the type was
  // changed) no longer applies: it is cleared, saying why, and the type's own are offered.
  if (subtype.includes(':')) {
    const [t, s] = subtype.split(':');
    if (!type || t === type) subtype = s;
    else {
      subtype = '';
      notes.push({ path: 'subtype', message: 'validation.subtypeMismatch' });
    }
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
  return { input, raw, notes };
}

/** "buyers.0.phone" → "buyers[0][phone]"; a party's region goes to its province select, the PDF to the file input. */
export function fieldForPath(path: string): string {
  if (path === 'attachments') return 'file';
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

/** The label keys of the contract's own fields, and of a party's, as the form shows them. */
const FIELD_LABELS: Record<string, string> = {
  title: 'contracts.title',
  contractNumber: 'contracts.contractNumber',
  type: 'contracts.type',
  subtype: 'contracts.subtype',
  signedOn: 'contracts.signedOn',
  validFrom: 'contracts.validFrom',
  validTo: 'contracts.validTo',
  direction: 'parties.direction',
  seller: 'contracts.seller',
  coSellers: 'parties.coSellers',
  buyers: 'contracts.sectionBuyers',
  contractAmount: 'contracts.contractAmountYuan',
  technicalAmount: 'contracts.technicalAmountYuan',
  deductions: 'contracts.deductions',
  paymentMethod: 'contracts.paymentMethod',
  technicalField: 'contracts.technicalField',
  ipType: 'contracts.ipType',
  socioEconomicObjective: 'contracts.objective',
  planSource: 'contracts.planSource',
  priorityArea: 'contracts.priorityArea',
  relatedParty: 'contracts.relatedParty',
  attachments: 'contracts.sectionAttachments',
  file: 'contracts.sectionAttachments',
  declaration: 'contracts.declarationShort',
};
const PARTY_FIELD_LABELS: Record<string, string> = {
  name: 'contracts.partyName',
  nature: 'org.nature',
  uscc: 'org.uscc',
  idNumber: 'parties.idNumber',
  legalRepresentative: 'contracts.legalRepresentative',
  contactPerson: 'contracts.contactPerson',
  phone: 'contracts.phone',
  email: 'account.email',
  address: 'org.address',
  regionCode: 'org.region',
  country: 'contracts.country',
};

type Translate = (key: string, params?: Record<string, unknown>) => string;

/**
 * A field in words, for the error summary: "卖方 · 联系电话", "买方 2 · 电子邮箱",
 * "扣除的非技术性费用 · 金额 1（元）". `importing`: the seller is abroad and buyer 1 is the registrant.
 */
export function fieldLabel(path: string, t: Translate, importing = false): string {
  const parts = path.split('.');
  const [head, index, key] = parts;
  const n = Number(index) + 1;
  if (head === 'deductions' && index !== undefined) {
    const row = key === 'item' ? t('contracts.deductionItem', { n }) : t('contracts.deductionAmount', { n });
    return `${t('contracts.deductions')} · ${row}`;
  }
  let party: string | null = null;
  let field: string | undefined;
  if (head === 'seller') [party, field] = [t(importing ? 'parties.sectionSellerAbroad' : 'contracts.seller'), parts[1]];
  else if (head === 'buyers' && index !== undefined) [party, field] = [importing && index === '0' ? t('parties.buyerOwn') : t('contracts.buyerN', { n }), key];
  else if (head === 'coSellers' && index !== undefined) [party, field] = [t('parties.coSellerN', { n }), key];
  if (party === null) return FIELD_LABELS[head] ? t(FIELD_LABELS[head]) : path;
  return field && PARTY_FIELD_LABELS[field] ? `${party} · ${t(PARTY_FIELD_LABELS[field])}` : party;
}

/** Where a field comes in the form, so the summary lists problems in the order of the page. */
const FORM_ORDER = [
  'title', 'contractNumber', 'type', 'subtype', 'signedOn', 'validFrom', 'validTo', 'direction', 'seller', 'coSellers', 'buyers',
  'contractAmount', 'technicalAmount', 'deductions', 'paymentMethod', 'technicalField', 'ipType', 'socioEconomicObjective', 'planSource',
  'priorityArea', 'relatedParty', 'attachments', 'file', 'declaration',
];
const PARTY_ORDER = ['name', 'nature', 'uscc', 'idNumber', 'legalRepresentative', 'contactPerson', 'phone', 'email', 'address', 'regionCode', 'country'];

function formPosition(path: string): number[] {
  const [head, second, third] = path.split('.');
  const top = FORM_ORDER.indexOf(head);
  const index = /^\d+$/.test(second ?? '') ? Number(second) : -1;
  const key = index >= 0 ? third : second;
  return [top < 0 ? FORM_ORDER.length : top, index, key ? PARTY_ORDER.indexOf(key) + 1 || PARTY_ORDER.length + 1 : 0];
}

const byFormOrder = (a: Issue, b: Issue) => {
  const [x, y] = [formPosition(a.path), formPosition(b.path)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

export interface SummaryEntry {
  field: string;
  message: string;
  /** The field in words (the summary says which field each message is about). */
  label?: string;
}

/**
 * Issues keyed by form field name, for errors beside the fields, and the summary's entries in
 * the order of the form, each naming its field when `labelOf` is given.
 */
export function issuesByField(issues: Issue[], translate: (i: Issue) => string, labelOf?: (path: string) => string) {
  const errors: Record<string, string> = {};
  const summary: SummaryEntry[] = [];
  for (const i of [...issues].sort(byFormOrder)) {
    const field = fieldForPath(i.path);
    const message = translate(i);
    if (!errors[field]) errors[field] = message;
    summary.push(labelOf ? { field, message, label: labelOf(i.path) } : { field, message });
  }
  return { errors, summary };
}

/** The form field names of a party, as posted. */
const PARTY_FORM_KEYS = ['name', 'nature', 'uscc', 'idNumber', 'legalRepresentative', 'contactPerson', 'phone', 'email', 'address', 'regionCode', 'country'];

/**
 * The required markers (the red *) of every field on the form, by form field name: exactly the
 * fields the submission rules require for this filing (isRequiredAtSubmission), never set by hand.
 */
export function requiredMarkers(f: ContractFields, rows: { buyers: number; coSellers: number }, needsFile: boolean): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  const mark = (path: string) => {
    out[fieldForPath(path)] = isRequiredAtSubmission(path, f);
  };
  for (const k of FORM_ORDER) if (!['seller', 'coSellers', 'buyers', 'attachments', 'file', 'deductions'].includes(k)) mark(k);
  const parties = ['seller', ...Array.from({ length: rows.coSellers }, (_, i) => `coSellers.${i}`), ...Array.from({ length: rows.buyers }, (_, i) => `buyers.${i}`)];
  for (const p of parties) for (const k of PARTY_FORM_KEYS) mark(`${p}.${k}`);
  out.file = needsFile;
  return out;
}

/**
 * The sub-type select. Once a type is chosen (and the form shown again: "update choices"),
 * only its sub-types (none for consulting: `noneLabel` says so); before that, all of them in
 * groups labelled by type, every option saying which type it belongs to where its name alone
 * would not ("其他" is a transfer's and a licence's).
 */
export function subtypeChoices(type: string | undefined, lang: string, t: Translate) {
  const label = (l: CodeLabel) => (lang === 'en' ? l.en : l.zh);
  const types = CONTRACT_TYPES as Record<string, CodeLabel>;
  const subs = CONTRACT_SUBTYPES as Record<string, Record<string, CodeLabel>>;
  const group = (ty: string, optionLabel: (l: CodeLabel) => string) => ({
    type: ty,
    label: t('contracts.subtypeGroup', { type: label(types[ty]) }),
    options: Object.entries(subs[ty]).map(([value, l]) => ({ value: `${ty}:${value}`, label: optionLabel(l) })),
  });
  if (type && subs[type]) {
    const only = Object.keys(subs[type]).length ? [group(type, label)] : [];
    return { groups: only, noneLabel: only.length ? null : t('contracts.subtypeNoneForType', { type: label(types[type]) }) };
  }
  const count = new Map<string, number>();
  for (const list of Object.values(subs)) for (const l of Object.values(list)) count.set(label(l), (count.get(label(l)) ?? 0) + 1);
  return {
    noneLabel: null,
    groups: Object.keys(subs)
      .filter((ty) => Object.keys(subs[ty]).length)
      .map((ty) => group(ty, (l) => ((count.get(label(l)) ?? 0) > 1 ? t('contracts.subtypeOfType', { subtype: label(l), type: label(types[ty]) }) : label(l)))),
  };
}
