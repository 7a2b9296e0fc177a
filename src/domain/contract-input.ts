/**
 * The one validation of contract filings, shared by the pages and the API.
 *
 * `parseContractInput` reads what was sent (JSON or a form) field by field: valid fields are
 * kept, invalid ones are reported with their path, so a draft can be saved with whatever is
 * valid while the person fixes the rest. `submissionIssues` then checks that a filing is
 * complete and consistent, listing every problem at once.
 */
import {
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
  type ContractType,
} from './codes';
import { isCountryCode } from './countries';
import { parseYuan } from './money';
import { isLocalityCode } from './regions';
import { checkUscc } from './uscc';

export interface Issue {
  path: string;
  message: string;
  params?: Record<string, unknown>;
}

export interface Party {
  name?: string;
  uscc?: string;
  nature?: string;
  regionCode?: string;
  country?: string;
  legalRepresentative?: string;
  contactPerson?: string;
  phone?: string;
  email?: string;
  address?: string;
}

export interface Deduction {
  item: string;
  amountFen: number;
}

export interface ContractFields {
  title?: string;
  contractNumber?: string;
  type?: ContractType;
  subtype?: string;
  signedOn?: string;
  validFrom?: string;
  validTo?: string;
  contractAmountFen?: number;
  technicalAmountFen?: number;
  deductions?: Deduction[];
  paymentMethod?: string;
  relatedParty?: boolean;
  planSource?: string;
  ipType?: string;
  technicalField?: string;
  socioEconomicObjective?: string;
  priorityArea?: string;
  seller?: Party;
  buyers?: Party[];
  declaration?: boolean;
}

/** A field set to this is cleared in the draft. */
export const CLEAR = null;

export type ParsedFields = { [K in keyof ContractFields]?: ContractFields[K] | null };

export const LIMITS = { title: 200, contractNumber: 100, name: 200, person: 50, phone: 30, email: 254, address: 300, buyers: 20, deductions: 10 };

const PARTY_TEXT: [keyof Party, number][] = [
  ['name', LIMITS.name],
  ['legalRepresentative', LIMITS.person],
  ['contactPerson', LIMITS.person],
  ['address', LIMITS.address],
];

const ALL_SUBTYPES = new Set(Object.values(CONTRACT_SUBTYPES).flatMap((s) => Object.keys(s)));
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const PHONE = /^[0-9+\-() ]{5,30}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isEmpty = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

/** A real calendar date in YYYY-MM-DD form. */
export function isCalendarDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) && Number(m[1]) >= 1949;
}

class Reader {
  readonly issues: Issue[] = [];
  constructor(private readonly forms: boolean) {}

  fail(path: string, message: string, params?: Record<string, unknown>): undefined {
    this.issues.push({ path, message, params });
    return undefined;
  }

  text(raw: unknown, path: string, max: number): string | null | undefined {
    if (isEmpty(raw)) return CLEAR;
    if (typeof raw !== 'string') return this.fail(path, 'validation.invalidType');
    // Control characters have no place in a filing (and would corrupt CSV exports).
    const v = raw.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '').trim();
    if (v.length > max) return this.fail(path, 'validation.tooLong', { max });
    return v;
  }

  code(raw: unknown, path: string, list: Record<string, unknown> | Set<string>): string | null | undefined {
    if (isEmpty(raw)) return CLEAR;
    const ok = typeof raw === 'string' && (list instanceof Set ? list.has(raw) : has(list, raw));
    return ok ? (raw as string) : this.fail(path, 'validation.choice');
  }

  date(raw: unknown, path: string): string | null | undefined {
    if (isEmpty(raw)) return CLEAR;
    if (typeof raw !== 'string' || !isCalendarDate(raw.trim())) return this.fail(path, 'validation.date');
    return raw.trim();
  }

  money(raw: unknown, path: string): number | null | undefined {
    if (isEmpty(raw)) return CLEAR;
    const res = parseYuan(raw, { grouped: this.forms });
    return res.ok ? res.fen : this.fail(path, `validation.money_${res.reason}`);
  }

  bool(raw: unknown, path: string): boolean | null | undefined {
    if (typeof raw === 'boolean') return raw;
    if (this.forms) {
      if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
      if (raw === 'on' || raw === 'true' || raw === '1' || raw === 'yes') return true;
    }
    if (raw === null || raw === undefined) return CLEAR;
    return this.fail(path, 'validation.invalidType');
  }

  party(raw: unknown, path: string): Party | null | undefined {
    if (raw === null || raw === undefined) return CLEAR;
    if (typeof raw !== 'object' || Array.isArray(raw)) return this.fail(path, 'validation.invalidType');
    const src = raw as Record<string, unknown>;
    const p: Party = {};
    for (const [key, max] of PARTY_TEXT) {
      const v = this.text(src[key], `${path}.${key}`, max);
      if (v) p[key] = v;
    }
    const uscc = this.text(src.uscc, `${path}.uscc`, 18 + 4);
    if (uscc) {
      const c = checkUscc(uscc);
      if (!c.ok && c.reason !== 'check') this.fail(`${path}.uscc`, `validation.uscc_${c.reason}`);
      else p.uscc = c.code;
    }
    const nature = this.code(src.nature, `${path}.nature`, ENTITY_NATURES);
    if (nature) p.nature = nature;
    if (!isEmpty(src.regionCode)) {
      if (isLocalityCode(src.regionCode)) p.regionCode = src.regionCode;
      else this.fail(`${path}.regionCode`, 'validation.region');
    }
    if (!isEmpty(src.country)) {
      if (isCountryCode(src.country)) p.country = src.country;
      else this.fail(`${path}.country`, 'validation.choice');
    }
    const phone = this.text(src.phone, `${path}.phone`, LIMITS.phone);
    if (phone) {
      if (PHONE.test(phone)) p.phone = phone;
      else this.fail(`${path}.phone`, 'validation.phone');
    }
    const email = this.text(src.email, `${path}.email`, LIMITS.email);
    if (email) {
      if (EMAIL.test(email)) p.email = email.toLowerCase();
      else this.fail(`${path}.email`, 'validation.email');
    }
    return p;
  }

  list<T>(raw: unknown, path: string, max: number, item: (v: unknown, p: string) => T | null | undefined): T[] | null | undefined {
    if (raw === null || raw === undefined) return CLEAR;
    // Forms send buyers[0][name]…: qs turns them into arrays, or objects keyed "0", "1"….
    const arr = Array.isArray(raw) ? raw : typeof raw === 'object' && this.forms ? Object.values(raw as object) : null;
    if (!arr) return this.fail(path, 'validation.invalidType');
    if (arr.length > max) return this.fail(path, 'validation.tooMany', { max });
    const out: T[] = [];
    arr.forEach((v, i) => {
      const parsed = item(v, `${path}.${i}`);
      if (parsed) out.push(parsed);
    });
    return out;
  }
}

/** Reads the fields present in `raw`; only those keys appear in `values`. */
export function parseContractInput(raw: unknown, opts: { forms?: boolean } = {}): { values: ParsedFields; issues: Issue[] } {
  const r = new Reader(Boolean(opts.forms));
  const values: ParsedFields = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    r.fail('', 'validation.invalidType');
    return { values, issues: r.issues };
  }
  const src = raw as Record<string, unknown>;
  const set = <K extends keyof ContractFields>(key: K, v: ContractFields[K] | null | undefined) => {
    if (v !== undefined) values[key] = v;
  };
  if (has(src, 'title')) set('title', r.text(src.title, 'title', LIMITS.title));
  if (has(src, 'contractNumber')) set('contractNumber', r.text(src.contractNumber, 'contractNumber', LIMITS.contractNumber));
  if (has(src, 'type')) set('type', r.code(src.type, 'type', CONTRACT_TYPES) as ContractType | null | undefined);
  if (has(src, 'subtype')) set('subtype', r.code(src.subtype, 'subtype', ALL_SUBTYPES));
  for (const k of ['signedOn', 'validFrom', 'validTo'] as const) if (has(src, k)) set(k, r.date(src[k], k));
  if (has(src, 'contractAmount')) set('contractAmountFen', r.money(src.contractAmount, 'contractAmount'));
  if (has(src, 'technicalAmount')) set('technicalAmountFen', r.money(src.technicalAmount, 'technicalAmount'));
  if (has(src, 'deductions')) {
    set(
      'deductions',
      r.list(src.deductions, 'deductions', LIMITS.deductions, (v, p) => {
        if (typeof v !== 'object' || v === null) return r.fail(p, 'validation.invalidType');
        const d = v as Record<string, unknown>;
        if (isEmpty(d.item) && isEmpty(d.amount)) return CLEAR; // an empty form row
        const item = r.code(d.item, `${p}.item`, DEDUCTION_ITEMS);
        const amountFen = r.money(d.amount, `${p}.amount`);
        if (!item) r.fail(`${p}.item`, 'validation.required');
        if (amountFen === CLEAR) r.fail(`${p}.amount`, 'validation.required');
        return item && typeof amountFen === 'number' ? { item, amountFen } : undefined;
      }),
    );
  }
  if (has(src, 'paymentMethod')) set('paymentMethod', r.code(src.paymentMethod, 'paymentMethod', PAYMENT_METHODS));
  if (has(src, 'relatedParty') || opts.forms) set('relatedParty', r.bool(src.relatedParty, 'relatedParty'));
  if (has(src, 'planSource')) set('planSource', r.code(src.planSource, 'planSource', PLAN_SOURCES));
  if (has(src, 'ipType')) set('ipType', r.code(src.ipType, 'ipType', IP_TYPES));
  if (has(src, 'technicalField')) set('technicalField', r.code(src.technicalField, 'technicalField', TECHNICAL_FIELDS));
  if (has(src, 'socioEconomicObjective')) set('socioEconomicObjective', r.code(src.socioEconomicObjective, 'socioEconomicObjective', OBJECTIVES));
  if (has(src, 'priorityArea')) set('priorityArea', r.code(src.priorityArea, 'priorityArea', PRIORITY_AREAS));
  if (has(src, 'seller')) set('seller', r.party(src.seller, 'seller'));
  if (has(src, 'buyers')) {
    set(
      'buyers',
      r.list(src.buyers, 'buyers', LIMITS.buyers, (v, p) => {
        const party = r.party(v, p);
        // A blank row left in a form is not a buyer.
        return party && Object.keys(party).length ? party : party === CLEAR ? CLEAR : undefined;
      }),
    );
  }
  if (has(src, 'declaration') || opts.forms) set('declaration', r.bool(src.declaration, 'declaration'));
  return { values, issues: r.issues };
}

/** Applies parsed values to stored fields: present keys replace, `null` clears. */
export function mergeFields(stored: ContractFields, parsed: ParsedFields): ContractFields {
  const out: Record<string, unknown> = { ...stored };
  for (const [k, v] of Object.entries(parsed)) {
    if (v === CLEAR) delete out[k];
    else out[k] = v;
  }
  return out as ContractFields;
}

const REQUIRED_TOP: (keyof ContractFields)[] = [
  'title', 'contractNumber', 'type', 'signedOn', 'validFrom', 'validTo', 'contractAmountFen', 'technicalAmountFen',
  'paymentMethod', 'planSource', 'ipType', 'technicalField', 'socioEconomicObjective',
];
const PATH_OF: Partial<Record<keyof ContractFields, string>> = { contractAmountFen: 'contractAmount', technicalAmountFen: 'technicalAmount' };

const normName = (s: string | undefined) => (s ?? '').replace(/[\s()（）]/g, '').toLowerCase();

function partyIssues(p: Party | undefined, path: string, role: 'seller' | 'buyer'): Issue[] {
  const issues: Issue[] = [];
  if (!p) return [{ path, message: 'validation.required' }];
  const foreign = role === 'buyer' && Boolean(p.country);
  const individual = p.nature === '400';
  const need: (keyof Party)[] = ['name', 'nature', 'contactPerson', 'phone', 'address'];
  if (!individual && !foreign) need.push('uscc', 'legalRepresentative');
  if (role === 'seller') need.push('email');
  for (const k of need) if (!p[k]) issues.push({ path: `${path}.${k}`, message: 'validation.required' });
  if (!foreign && !p.regionCode) issues.push({ path: `${path}.regionCode`, message: role === 'seller' ? 'validation.region' : 'validation.regionOrCountry' });
  if (p.regionCode && p.country) issues.push({ path: `${path}.country`, message: 'validation.regionAndCountry' });
  return issues;
}

/** Everything that stops a filing from being submitted, all at once. `today` is the CST date. */
export function submissionIssues(f: ContractFields, today: string): Issue[] {
  const issues: Issue[] = [];
  for (const k of REQUIRED_TOP) {
    if (f[k] === undefined || f[k] === null || f[k] === '') issues.push({ path: PATH_OF[k] ?? k, message: 'validation.required' });
  }
  if (f.type) {
    const subtypes = CONTRACT_SUBTYPES[f.type];
    if (Object.keys(subtypes).length === 0) {
      if (f.subtype) issues.push({ path: 'subtype', message: 'validation.subtypeNone' });
    } else if (!f.subtype) {
      issues.push({ path: 'subtype', message: 'validation.required' });
    } else if (!has(subtypes, f.subtype)) {
      issues.push({ path: 'subtype', message: 'validation.subtypeMismatch' });
    }
    if ((f.type === 'transfer' || f.type === 'licensing') && f.ipType === 'none') {
      issues.push({ path: 'ipType', message: 'validation.ipRequired' });
    }
  }
  if (f.contractAmountFen !== undefined && f.contractAmountFen <= 0) issues.push({ path: 'contractAmount', message: 'validation.amountPositive' });
  if (f.contractAmountFen !== undefined && f.technicalAmountFen !== undefined) {
    if (f.technicalAmountFen > f.contractAmountFen) issues.push({ path: 'technicalAmount', message: 'validation.technicalAboveTurnover' });
    if (f.deductions?.length) {
      const sum = f.deductions.reduce((a, d) => a + d.amountFen, 0);
      if (sum !== f.contractAmountFen - f.technicalAmountFen) issues.push({ path: 'deductions', message: 'validation.deductionsSum' });
    }
  }
  if (f.validFrom && f.validTo && f.validTo < f.validFrom) issues.push({ path: 'validTo', message: 'validation.validToBeforeFrom' });
  if (f.signedOn && f.signedOn > today) issues.push({ path: 'signedOn', message: 'validation.signedInFuture' });
  issues.push(...partyIssues(f.seller, 'seller', 'seller'));
  if (!f.buyers?.length) issues.push({ path: 'buyers', message: 'validation.buyerRequired' });
  f.buyers?.forEach((b, i) => {
    issues.push(...partyIssues(b, `buyers.${i}`, 'buyer'));
    const sameCode = b.uscc && f.seller?.uscc && b.uscc === f.seller.uscc;
    const sameName = b.name && f.seller?.name && normName(b.name) === normName(f.seller.name);
    if (sameCode || sameName) issues.push({ path: `buyers.${i}.${sameCode ? 'uscc' : 'name'}`, message: 'validation.buyerIsSeller' });
  });
  if (f.declaration !== true) issues.push({ path: 'declaration', message: 'validation.declaration' });
  return issues;
}
