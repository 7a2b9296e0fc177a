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
import { checkResidentId } from './resident-id';
import { checkUscc } from './uscc';

export interface Issue {
  path: string;
  message: string;
  params?: Record<string, unknown>;
}

export interface Party {
  name?: string;
  uscc?: string;
  /** A natural person's resident ID number (nature 400), instead of a credit code. */
  idNumber?: string;
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

/**
 * `domestic`: the applicant is the seller (the usual case). `import` (技术引进): the applicant
 * is the domestic buyer of technology from a seller abroad, and registers it.
 */
export const DIRECTIONS = ['domestic', 'import'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The entity nature of a natural person, who gives a resident ID number instead of a credit code. */
export const NATURAL_PERSON = '400';

export interface ContractFields {
  direction?: Direction;
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
  /** Further sellers beside the registrant `seller` (e.g. joint developers). */
  coSellers?: Party[];
  buyers?: Party[];
  declaration?: boolean;
}

/**
 * Whether a filing is a technology import (技术引进): registered by its domestic buyer, so it
 * counts on the buyer side (吸纳) only, never in the city's output (输出). Takes any object
 * with these fields (a stored contract too); a seller abroad marks an import even without
 * the flag (older data).
 */
export function isTechnologyImport(fields: { direction?: string | null; seller?: { country?: string | null } | null }): boolean {
  return fields.direction === 'import' || (Boolean(fields.seller?.country) && fields.seller?.country !== 'CN');
}

/** A field set to this is cleared in the draft. */
export const CLEAR = null;

export type ParsedFields = { [K in keyof ContractFields]?: ContractFields[K] | null };

export const LIMITS = { title: 200, contractNumber: 100, name: 200, person: 50, phone: 30, email: 254, address: 300, buyers: 20, coSellers: 10, deductions: 10 };

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
    const idNumber = this.text(src.idNumber, `${path}.idNumber`, 18 + 4);
    if (idNumber) {
      // A mistyped ID number is refused at once: unlike credit codes, no real one fails the check.
      const c = checkResidentId(idNumber);
      if (c.ok) p.idNumber = c.idNumber;
      else this.fail(`${path}.idNumber`, `parties.idNumber_${c.reason}`, c.reason === 'check' ? { expected: c.expected } : undefined);
    }
    const nature = this.code(src.nature, `${path}.nature`, ENTITY_NATURES);
    if (nature) p.nature = nature;
    if (!isEmpty(src.regionCode)) {
      if (isLocalityCode(src.regionCode)) p.regionCode = src.regionCode;
      else this.fail(`${path}.regionCode`, 'validation.region');
    }
    if (!isEmpty(src.country)) {
      const country = typeof src.country === 'string' ? src.country.trim().toUpperCase() : src.country;
      if (isCountryCode(country)) p.country = country;
      else this.fail(`${path}.country`, country === 'CN' ? 'parties.countryNotChina' : 'validation.choice');
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
  if (has(src, 'direction')) set('direction', r.code(src.direction, 'direction', new Set(DIRECTIONS)) as Direction | null | undefined);
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
  // A blank row left in a form is not a party.
  const partyRow = (v: unknown, p: string) => {
    const party = r.party(v, p);
    return party && Object.keys(party).length ? party : party === CLEAR ? CLEAR : undefined;
  };
  if (has(src, 'coSellers')) set('coSellers', r.list(src.coSellers, 'coSellers', LIMITS.coSellers, partyRow));
  if (has(src, 'buyers')) set('buyers', r.list(src.buyers, 'buyers', LIMITS.buyers, partyRow));
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

interface PartyRule {
  /** `never`: located in China (a region); `allowed`: a region or a foreign country; `required`: abroad. */
  abroad: 'never' | 'allowed' | 'required';
  /** The registrant and the sellers give an email. */
  email: boolean;
}

function partyIssues(p: Party | undefined, path: string, rule: PartyRule): Issue[] {
  const issues: Issue[] = [];
  if (!p) return [{ path, message: 'validation.required' }];
  const foreign = rule.abroad === 'required' || (rule.abroad === 'allowed' && Boolean(p.country));
  const individual = p.nature === NATURAL_PERSON;
  const need: (keyof Party)[] = ['name', 'nature', 'contactPerson', 'phone', 'address'];
  if (!individual && !foreign) need.push('uscc', 'legalRepresentative');
  // A person in China is identified by the resident ID number; one abroad has none.
  if (individual && !foreign) need.push('idNumber');
  if (rule.email) need.push('email');
  for (const k of need) if (!p[k]) issues.push({ path: `${path}.${k}`, message: 'validation.required' });
  if (rule.abroad === 'required') {
    if (!p.country) issues.push({ path: `${path}.country`, message: 'parties.countryRequired' });
  } else if (!foreign && !p.regionCode) {
    issues.push({ path: `${path}.regionCode`, message: rule.abroad === 'never' ? 'validation.region' : 'validation.regionOrCountry' });
  }
  if (p.regionCode && p.country) issues.push({ path: `${path}.country`, message: 'validation.regionAndCountry' });
  // An organisation's filing carries no one's personal ID number.
  if (p.idNumber && !individual) issues.push({ path: `${path}.idNumber`, message: 'parties.idNumberOnlyPerson' });
  return issues;
}

const normId = (p: Party | undefined) => p?.idNumber ?? '';

/** Which field shows that `a` and `b` are the same party (credit code, ID number or name), if any. */
function samePartyField(a: Party, b: Party | undefined): 'uscc' | 'idNumber' | 'name' | null {
  if (!b) return null;
  if (a.uscc && b.uscc && a.uscc === b.uscc) return 'uscc';
  if (normId(a) && normId(a) === normId(b)) return 'idNumber';
  if (a.name && b.name && normName(a.name) === normName(b.name)) return 'name';
  return null;
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
  const importing = f.direction === 'import';
  // In an import the seller is abroad and the registrant is the first buyer.
  issues.push(...partyIssues(f.seller, 'seller', { abroad: importing ? 'required' : 'never', email: true }));
  const sellers = [f.seller, ...(f.coSellers ?? [])];
  f.coSellers?.forEach((c, i) => {
    issues.push(...partyIssues(c, `coSellers.${i}`, { abroad: 'allowed', email: true }));
    const earlier = sellers.slice(0, i + 1).map((s) => samePartyField(c, s)).find(Boolean);
    if (earlier) issues.push({ path: `coSellers.${i}.${earlier}`, message: 'parties.sellerTwice' });
  });
  if (!f.buyers?.length) issues.push({ path: 'buyers', message: 'validation.buyerRequired' });
  f.buyers?.forEach((b, i) => {
    issues.push(...partyIssues(b, `buyers.${i}`, { abroad: 'allowed', email: importing && i === 0 }));
    const same = sellers.map((s) => samePartyField(b, s)).find(Boolean);
    if (same) issues.push({ path: `buyers.${i}.${same}`, message: 'validation.buyerIsSeller' });
  });
  if (f.declaration !== true) issues.push({ path: 'declaration', message: 'validation.declaration' });
  return issues;
}
