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
    if (typeof raw !== 'string') return this.fail(path, 'validation.date');
    const v = raw.trim();
    if (isCalendarDate(v)) return v;
    // Say what is wrong: not a date at all, a day the calendar does not have, or before 1949.
    const m = DATE.exec(v);
    if (!m) return this.fail(path, 'validation.date');
    return this.fail(path, Number(m[1]) < 1949 ? 'validation.dateTooEarly' : 'validation.dateNotReal', { value: v });
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

/**
 * The issue of a value a draft kept as typed (it was invalid) at its `path` ("contractAmount",
 * "buyers.1.phone"): read again by the same rules, so it shows the message it had when typed
 * ("not a number", "not a phone number"…), never a vague "invalid" or "required".
 */
export function issueOfKeptValue(path: string, value: string): Issue {
  const parts = path.split('.');
  const input: Record<string, unknown> = {};
  let at: Record<string, unknown> | unknown[] = input;
  parts.forEach((key, i) => {
    const last = i === parts.length - 1;
    const next = last ? value : /^\d+$/.test(parts[i + 1]) ? [] : {};
    (at as Record<string, unknown>)[key] = next;
    at = next as Record<string, unknown>;
  });
  // A deduction row needs both halves: give the other one so only this value is judged.
  const d = /^deductions\.(\d+)\.(item|amount)$/.exec(path);
  if (d) {
    const row = (input.deductions as Record<string, unknown>[])[Number(d[1])];
    if (d[2] === 'item') row.amount = '1';
    else row.item = Object.keys(DEDUCTION_ITEMS)[0];
  }
  const { issues } = parseContractInput(input, { forms: true });
  return issues.find((i) => i.path === path) ?? { path, message: 'validation.invalid' };
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

/** What a field of the submission rules must hold to pass, and the message when it does not. */
export interface RequiredField {
  path: string;
  message: string;
}

/** The fields `p` must have at submission (its nature and country decide which). */
function partyRequired(p: Party, path: string, rule: PartyRule): RequiredField[] {
  const foreign = rule.abroad === 'required' || (rule.abroad === 'allowed' && Boolean(p.country));
  const individual = p.nature === NATURAL_PERSON;
  const need: (keyof Party)[] = ['name', 'nature', 'contactPerson', 'phone', 'address'];
  if (!individual && !foreign) need.push('uscc', 'legalRepresentative');
  // A person in China is identified by the resident ID number; one abroad has none.
  if (individual && !foreign) need.push('idNumber');
  if (rule.email) need.push('email');
  const out = need.map((k) => ({ path: `${path}.${k}`, message: 'validation.required' }));
  if (rule.abroad === 'required') out.push({ path: `${path}.country`, message: 'parties.countryRequired' });
  else if (!foreign) out.push({ path: `${path}.regionCode`, message: rule.abroad === 'never' ? 'validation.region' : 'validation.regionOrCountry' });
  return out;
}

function partyIssues(p: Party | undefined, path: string, rule: PartyRule): Issue[] {
  if (!p) return [{ path, message: 'validation.required' }];
  const issues: Issue[] = partyRequired(p, path, rule).filter((r) => !p[r.path.slice(path.length + 1) as keyof Party]);
  if (p.regionCode && p.country) issues.push({ path: `${path}.country`, message: 'validation.regionAndCountry' });
  // An organisation's filing carries no one's personal ID number.
  if (p.idNumber && !individual(p)) issues.push({ path: `${path}.idNumber`, message: 'parties.idNumberOnlyPerson' });
  return issues;
}

const individual = (p: Party) => p.nature === NATURAL_PERSON;

/** The rule for each party of a filing: the seller (abroad in an import), co-sellers, buyers (the first is the registrant in an import). */
function partyRuleFor(f: ContractFields, path: string): PartyRule | null {
  const importing = f.direction === 'import';
  if (path === 'seller') return { abroad: importing ? 'required' : 'never', email: true };
  if (/^coSellers\.\d+$/.test(path)) return { abroad: 'allowed', email: true };
  const b = /^buyers\.(\d+)$/.exec(path);
  if (b) return { abroad: 'allowed', email: importing && b[1] === '0' };
  return null;
}

/** The contract's own fields required at submission (not the parties'). */
function contractRequired(f: ContractFields): RequiredField[] {
  const out = REQUIRED_TOP.map((k) => ({ path: PATH_OF[k] ?? k, message: 'validation.required' }));
  // Every type but consulting has sub-types; until the type is chosen, assume it has.
  if (!f.type || Object.keys(CONTRACT_SUBTYPES[f.type] ?? {}).length) out.push({ path: 'subtype', message: 'validation.required' });
  return out;
}

/**
 * Whether the field at `path` (as in issues: "subtype", "buyers.0.uscc", "seller.regionCode")
 * must be filled for `f` to be submitted: the rules of `submissionIssues`, for the form's
 * required markers. A party row not in `f` (a blank co-seller or extra buyer row) requires
 * nothing, except the first buyer's: a filing needs a buyer, so that row stands for it.
 */
export function isRequiredAtSubmission(path: string, f: ContractFields): boolean {
  const m = /^(seller|coSellers\.(\d+)|buyers\.(\d+))\.\w+$/.exec(path);
  if (m) {
    const rule = partyRuleFor(f, m[1]);
    let party = m[2] !== undefined ? f.coSellers?.[Number(m[2])] : m[3] !== undefined ? f.buyers?.[Number(m[3])] : f.seller;
    if (!party && (m[1] === 'seller' || (m[3] === '0' && !f.buyers?.length))) party = {};
    return Boolean(rule && party) && partyRequired(party!, m[1], rule!).some((r) => r.path === path);
  }
  if (path === 'declaration') return true;
  return contractRequired(f).some((r) => r.path === path);
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
  const valueOf = (path: string) => f[(Object.keys(PATH_OF) as (keyof ContractFields)[]).find((k) => PATH_OF[k] === path) ?? (path as keyof ContractFields)];
  for (const r of contractRequired(f)) {
    const v = valueOf(r.path);
    if (v === undefined || v === null || v === '') issues.push(r);
  }
  if (f.type) {
    const subtypes = CONTRACT_SUBTYPES[f.type];
    if (Object.keys(subtypes).length === 0) {
      if (f.subtype) issues.push({ path: 'subtype', message: 'validation.subtypeNone' });
    } else if (f.subtype && !has(subtypes, f.subtype)) {
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
  // In an import the seller is abroad and the registrant is the first buyer (partyRuleFor).
  issues.push(...partyIssues(f.seller, 'seller', partyRuleFor(f, 'seller')!));
  const sellers = [f.seller, ...(f.coSellers ?? [])];
  f.coSellers?.forEach((c, i) => {
    issues.push(...partyIssues(c, `coSellers.${i}`, partyRuleFor(f, `coSellers.${i}`)!));
    const earlier = sellers.slice(0, i + 1).map((s) => samePartyField(c, s)).find(Boolean);
    if (earlier) issues.push({ path: `coSellers.${i}.${earlier}`, message: 'parties.sellerTwice' });
  });
  if (!f.buyers?.length) issues.push({ path: 'buyers', message: 'validation.buyerRequired' });
  f.buyers?.forEach((b, i) => {
    issues.push(...partyIssues(b, `buyers.${i}`, partyRuleFor(f, `buyers.${i}`)!));
    const same = sellers.map((s) => samePartyField(b, s)).find(Boolean);
    if (same) issues.push({ path: `buyers.${i}.${same}`, message: 'validation.buyerIsSeller' });
  });
  if (f.declaration !== true) issues.push({ path: 'declaration', message: 'validation.declaration' });
  return issues;
}
