/**
 * Every event the registry notifies about, in one place: who receives it, the kind it is
 * stored under, and its subject and body in both languages (all notification wording lives
 * here, not in the i18n tables, which hold the pages' wording).
 *
 * Templates name their parameters: `{title}` is replaced by the parameter's value, and a part
 * in `[[…]]` is kept only when every parameter inside it has a value (an optional note). A
 * parameter with `choices` takes a code and renders that choice's words in each language
 * (the official refusal reasons come from REFUSAL_REASON_TEXTS). Rendering throws on a
 * missing parameter: a notification never goes out with a hole in it.
 *
 * `kind` is what the stored notification has always been filed under (tests and queries
 * count on it); the keys of notifications, which make them once-only, stay with the callers.
 */
import { REFUSAL_REASON_TEXTS } from '../../domain/codes';

/** Who a notification is for: an organisation's members, or the bureau by role. */
export const AUDIENCES = ['organization', 'reviewers', 'admins', 'bureau'] as const;
export type Audience = (typeof AUDIENCES)[number];

/** The roles whose users receive (see, and are mailed) a notification for each audience. */
export const AUDIENCE_ROLES: Record<Audience, readonly ('applicant' | 'reviewer' | 'admin')[]> = {
  organization: ['applicant'],
  reviewers: ['reviewer'],
  admins: ['admin'],
  bureau: ['reviewer', 'admin'],
};

/** The bureau audiences a role belongs to (none for applicants: theirs go by organisation). */
export function bureauAudiencesOf(role: string): Audience[] {
  return (AUDIENCES.filter((a) => a !== 'organization' && (AUDIENCE_ROLES[a] as readonly string[]).includes(role)) as Audience[]);
}

export type Lang = 'zh' | 'en';
export interface Words {
  zh: string;
  en: string;
}
interface Texts {
  subject: string;
  body: string;
}

export interface EventDef {
  kind: string;
  audience: Audience;
  /** Parameters the texts need; `optional` ones appear only inside `[[…]]`. */
  required: readonly string[];
  optional?: readonly string[];
  /** Parameters given as a code and rendered as that code's words. */
  choices?: Readonly<Record<string, Readonly<Record<string, Words>>>>;
  /** A link shown with the notification and appended to its mail (`href` may use the parameters). */
  link?: { href: string; zh: string; en: string };
  zh: Texts;
  en: Texts;
}

/** The official refusal reasons, by their number. */
const REFUSAL_REASONS: Record<string, Words> = REFUSAL_REASON_TEXTS;

/** What awaits a decision: a first filing, or a change or cancellation request. */
const AWAITING: Record<string, Words> = {
  filing: { zh: '技术合同登记申请', en: 'filing' },
  change: { zh: '变更登记申请', en: 'change request' },
  cancellation: { zh: '注销登记申请', en: 'cancellation request' },
};

const CERTIFICATE_LINK = { href: '/api/v1/contracts/{contractId}/certificate.pdf', zh: '下载登记证明', en: 'Download the certificate' };
const CONTRACT_LINK = { href: '/contracts/{contractId}', zh: '查看合同', en: 'Open the contract' };
const REVIEW_LINK = { href: '/review/{reviewPath}', zh: '打开审查页', en: 'Open it for review' };

/** Minutes a reviewers' digest of new filings collects for (at most one digest per window). */
export const RECEIVED_DIGEST_MINUTES = 10;

export const CATALOGUE = {
  // ── Organisations ──────────────────────────────────────────────────────────────────
  'organization.verified': {
    kind: 'organization_verified',
    audience: 'organization',
    required: ['name'],
    link: { href: '/contracts', zh: '开始登记', en: 'File a contract' },
    zh: { subject: '机构核验通过', body: '“{name}”已通过科技局核验，现在可以提交技术合同登记。' },
    en: { subject: 'Organisation verified', body: 'The bureau has verified “{name}”: you can now file technology contracts for registration.' },
  },
  'organization.rejected': {
    kind: 'organization_rejected',
    audience: 'organization',
    required: ['name'],
    optional: ['reason'],
    link: { href: '/organization', zh: '查看机构信息', en: 'Open the organisation' },
    zh: { subject: '机构核验未通过', body: '“{name}”未通过科技局核验[[，原因：{reason}]]。请更正机构信息后重新申请。' },
    en: { subject: 'Organisation not verified', body: 'The bureau did not verify “{name}”.[[ Reason: {reason}.]] Correct the details and apply again.' },
  },
  'organization.name_change_approved': {
    kind: 'organization_name_change_approved',
    audience: 'organization',
    required: ['name', 'newName'],
    zh: { subject: '机构名称变更已核准', body: '科技局已核准将“{name}”更名为“{newName}”，此后的合同登记使用新名称。' },
    en: { subject: 'Name change approved', body: 'The bureau approved renaming “{name}” to “{newName}”; filings from now on use the new name.' },
  },
  'organization.name_change_rejected': {
    kind: 'organization_name_change_rejected',
    audience: 'organization',
    required: ['name', 'newName'],
    optional: ['reason'],
    zh: { subject: '机构名称变更未通过', body: '科技局未同意将“{name}”更名为“{newName}”[[，原因：{reason}]]。' },
    en: { subject: 'Name change not approved', body: 'The bureau did not approve renaming “{name}” to “{newName}”.[[ Reason: {reason}.]]' },
  },

  // ── Filings: to the bureau ─────────────────────────────────────────────────────────
  'filing.received': {
    kind: 'filings_received',
    audience: 'reviewers',
    // One per ten minutes with any (queue.service sendFilingDigests counts them when the slot is over).
    required: ['count', 'filings', 'requests'],
    link: { href: '/review', zh: '打开审查队列', en: 'Open the review queue' },
    zh: {
      subject: '新的登记申请：{count} 件待审查',
      body: `${RECEIVED_DIGEST_MINUTES} 分钟内有 {count} 件新的申请通过自动核查，进入审查队列（技术合同登记 {filings} 件，变更或注销登记 {requests} 件）。`,
    },
    en: {
      subject: 'New filings awaiting review: {count}',
      body: `New in the review queue within ${RECEIVED_DIGEST_MINUTES} minutes, having passed the automatic checks: {count} (contract filings: {filings}; change or cancellation requests: {requests}).`,
    },
  },
  'deadline.due_soon': {
    kind: 'deadline_soon',
    audience: 'bureau',
    required: ['what', 'title', 'deadline', 'daysLeft', 'reviewPath'],
    choices: { what: AWAITING },
    link: REVIEW_LINK,
    zh: { subject: '审查期限将至（{deadline}）：{title}', body: '{what}“{title}”的办理期限为 {deadline}，还剩 {daysLeft} 个工作日，尚未作出决定。' },
    en: { subject: 'Decision due {deadline}: {title}', body: 'The {what} “{title}” is due for a decision on {deadline} and is still undecided (working days left: {daysLeft}).' },
  },
  'deadline.overdue': {
    kind: 'deadline_overdue',
    audience: 'bureau',
    required: ['what', 'title', 'deadline', 'reviewPath'],
    choices: { what: AWAITING },
    link: REVIEW_LINK,
    zh: { subject: '审查已逾期（期限 {deadline}）：{title}', body: '{what}“{title}”的办理期限 {deadline} 已过，仍未作出决定。' },
    en: { subject: 'Decision overdue (due {deadline}): {title}', body: 'The {what} “{title}” was due for a decision on {deadline} and is still undecided.' },
  },

  // ── Filings: to the applicant ──────────────────────────────────────────────────────
  'filing.registered': {
    kind: 'registered',
    audience: 'organization',
    required: ['title', 'registrationNumber', 'contractId'],
    optional: ['note'],
    link: CERTIFICATE_LINK,
    zh: { subject: '技术合同登记：准予登记', body: '您提交的技术合同“{title}”已准予登记。登记编号 {registrationNumber}[[；{note}]]。登记证明可从下方链接下载。' },
    en: { subject: 'Technology contract registered', body: 'Your technology contract "{title}" was registered with registration number {registrationNumber}[[; {note}]]. The certificate can be downloaded from the link below.' },
  },
  'filing.returned': {
    kind: 'returned',
    audience: 'organization',
    required: ['title', 'note', 'contractId'],
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：退回补正', body: '您提交的技术合同“{title}”已退回补正：{note}。请修改后重新提交。' },
    en: { subject: 'Technology contract returned for correction', body: 'Your technology contract "{title}" was returned for correction: {note}. Correct it and submit it again.' },
  },
  'filing.refused': {
    kind: 'refused',
    audience: 'organization',
    required: ['title', 'reason', 'contractId'],
    optional: ['note'],
    choices: { reason: REFUSAL_REASONS },
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：不予登记', body: '您提交的技术合同“{title}”已不予登记。不予登记理由：{reason}[[；{note}]]。' },
    en: { subject: 'Technology contract refused', body: 'Your technology contract "{title}" was refused; reason for refusal: {reason}[[; {note}]].' },
  },
  'filing.revoked': {
    kind: 'revoked',
    audience: 'organization',
    required: ['title', 'registrationNumber', 'contractId'],
    optional: ['note'],
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：撤销登记', body: '您提交的技术合同“{title}”已撤销登记。登记编号 {registrationNumber}[[；撤销理由：{note}]]。' },
    en: { subject: 'Technology contract registration revoked', body: 'The registration of your technology contract "{title}" (registration number {registrationNumber}) was revoked[[; reason: {note}]].' },
  },
  'certificate.ready': {
    kind: 'certificate_ready',
    audience: 'organization',
    required: ['title', 'registrationNumber', 'version', 'contractId'],
    link: CERTIFICATE_LINK,
    zh: { subject: '登记证明已生成：{registrationNumber}', body: '技术合同“{title}”（登记编号 {registrationNumber}）第 {version} 版的登记证明已生成，可以下载。' },
    en: { subject: 'Certificate ready: {registrationNumber}', body: 'The certificate (version {version}) of your technology contract "{title}", registration number {registrationNumber}, is ready to download.' },
  },

  // ── Changes and cancellations of a registration ────────────────────────────────────
  'change.registered': {
    kind: 'change_registered',
    audience: 'organization',
    required: ['title', 'registrationNumber', 'version', 'contractId'],
    optional: ['note'],
    link: CERTIFICATE_LINK,
    zh: { subject: '技术合同登记：变更登记已准予', body: '技术合同“{title}”的变更登记申请：变更登记已准予。登记编号 {registrationNumber}；现为第 {version} 版，新的登记证明可从下方链接下载[[；{note}]]。' },
    en: { subject: 'Technology contract: change registered', body: 'Your change request for "{title}" was registered (registration number {registrationNumber}): the registration is now at version {version}, and its new certificate can be downloaded from the link below[[; {note}]].' },
  },
  'change.returned': {
    kind: 'change_returned',
    audience: 'organization',
    required: ['title', 'note', 'contractId'],
    optional: ['registrationNumber'],
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：变更登记申请被退回补正', body: '技术合同“{title}”的变更登记申请：变更登记申请被退回补正。[[登记编号 {registrationNumber}；]]退回理由：{note}。' },
    en: { subject: 'Technology contract: change request returned for correction', body: 'Your change request for "{title}"[[ (registration number {registrationNumber})]] was returned for correction: {note}.' },
  },
  'change.refused': {
    kind: 'change_refused',
    audience: 'organization',
    required: ['title', 'reason', 'contractId'],
    optional: ['registrationNumber', 'note'],
    choices: { reason: REFUSAL_REASONS },
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：变更登记不予办理', body: '技术合同“{title}”的变更登记申请：变更登记不予办理。[[登记编号 {registrationNumber}；]]理由：{reason}[[；{note}]]。' },
    en: { subject: 'Technology contract: change request refused', body: 'Your change request for "{title}"[[ (registration number {registrationNumber})]] was refused; reason: {reason}[[; {note}]].' },
  },
  'cancellation.registered': {
    kind: 'cancellation_registered',
    audience: 'organization',
    required: ['title', 'registrationNumber', 'contractId'],
    optional: ['note'],
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：注销登记已准予', body: '技术合同“{title}”的注销登记申请：注销登记已准予。登记编号 {registrationNumber}[[；{note}]]。' },
    en: { subject: 'Technology contract: cancellation registered', body: 'Your cancellation request for "{title}" was registered: registration number {registrationNumber} is cancelled[[; {note}]].' },
  },
  'cancellation.returned': {
    kind: 'cancellation_returned',
    audience: 'organization',
    required: ['title', 'note', 'contractId'],
    optional: ['registrationNumber'],
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：注销登记申请被退回补正', body: '技术合同“{title}”的注销登记申请：注销登记申请被退回补正。[[登记编号 {registrationNumber}；]]退回理由：{note}。' },
    en: { subject: 'Technology contract: cancellation request returned for correction', body: 'Your cancellation request for "{title}"[[ (registration number {registrationNumber})]] was returned for correction: {note}.' },
  },
  'cancellation.refused': {
    kind: 'cancellation_refused',
    audience: 'organization',
    required: ['title', 'reason', 'contractId'],
    optional: ['registrationNumber', 'note'],
    choices: { reason: REFUSAL_REASONS },
    link: CONTRACT_LINK,
    zh: { subject: '技术合同登记：注销登记不予办理', body: '技术合同“{title}”的注销登记申请：注销登记不予办理。[[登记编号 {registrationNumber}；]]理由：{reason}[[；{note}]]。' },
    en: { subject: 'Technology contract: cancellation request refused', body: 'Your cancellation request for "{title}"[[ (registration number {registrationNumber})]] was refused; reason: {reason}[[; {note}]].' },
  },

  // ── The technology market board (供需对接, modules/market) ───────────────────────────
  'market.published': {
    kind: 'market_published',
    audience: 'organization',
    required: ['title', 'listingId', 'expiresOn'],
    link: { href: '/market/{listingId}', zh: '查看供需信息', en: 'Open the listing' },
    zh: { subject: '供需信息已发布：{title}', body: '您的供需信息“{title}”已通过科技局审核并在技术市场发布，有效期至 {expiresOn}。' },
    en: { subject: 'Listing published: {title}', body: 'The bureau published your listing "{title}" on the technology market board; it stays on the board until {expiresOn}.' },
  },
  'market.rejected': {
    kind: 'market_rejected',
    audience: 'organization',
    required: ['title', 'listingId', 'reason'],
    link: { href: '/market/{listingId}', zh: '查看并修改', en: 'Open and correct it' },
    zh: { subject: '供需信息未通过审核：{title}', body: '您的供需信息“{title}”未通过科技局审核，原因：{reason}。修改后将重新提交审核。' },
    en: { subject: 'Listing not published: {title}', body: 'The bureau did not publish your listing "{title}"; reason: {reason}. Once you edit it, it goes back to the bureau.' },
  },
  'market.interest': {
    kind: 'market_interest',
    audience: 'organization',
    required: ['title', 'organization', 'listingId'],
    link: { href: '/market/mine#listing-{listingId}', zh: '查看对接意向', en: 'Open the interest' },
    zh: { subject: '新的对接意向：{title}', body: '“{organization}”对您的供需信息“{title}”表示感兴趣并留言。接受后双方可看到彼此的联系方式。' },
    en: { subject: 'New interest in your listing: {title}', body: '"{organization}" is interested in your listing "{title}" and left a message. Once you accept, each of you sees the other\'s contact details.' },
  },
  'market.interest_accepted': {
    kind: 'market_interest_accepted',
    audience: 'organization',
    required: ['title', 'organization', 'listingId'],
    link: { href: '/market/{listingId}', zh: '查看联系方式', en: 'See the contact details' },
    zh: { subject: '对接意向已被接受：{title}', body: '“{organization}”接受了您对供需信息“{title}”的对接意向，双方的联系方式已可查看。' },
    en: { subject: 'Interest accepted: {title}', body: '"{organization}" accepted your interest in the listing "{title}": each of you can now see the other\'s contact details.' },
  },
  'market.interest_declined': {
    kind: 'market_interest_declined',
    audience: 'organization',
    required: ['title', 'organization', 'listingId'],
    link: { href: '/market/{listingId}', zh: '查看供需信息', en: 'Open the listing' },
    zh: { subject: '对接意向未被接受：{title}', body: '“{organization}”未接受您对供需信息“{title}”的对接意向。' },
    en: { subject: 'Interest declined: {title}', body: '"{organization}" declined your interest in the listing "{title}".' },
  },
  'market.draft_prepared': {
    kind: 'market_draft_prepared',
    audience: 'organization',
    required: ['title', 'organization', 'contractId'],
    link: CONTRACT_LINK,
    zh: { subject: '对方为您起草了合同登记草稿：{title}', body: '“{organization}”根据技术市场的供需信息“{title}”为您起草了一份技术合同登记草稿。卖方负责登记：请核对、补全后提交。' },
    en: { subject: 'A draft filing was prepared for you: {title}', body: '"{organization}" prepared a draft contract filing for you from the market listing "{title}". The seller files it: check it, complete it and submit it.' },
  },
} as const satisfies Record<string, EventDef>;

export type EventKey = keyof typeof CATALOGUE;
export type ParamValue = string | number;

type Def<E extends EventKey> = (typeof CATALOGUE)[E];
type OptionalOf<E extends EventKey> = Def<E> extends { optional: readonly (infer O extends string)[] } ? O : never;
/** The parameters an event's caller gives. */
export type EventParams<E extends EventKey> = { [K in Def<E>['required'][number]]: ParamValue } & { [K in OptionalOf<E>]?: ParamValue | null };

export function eventDef(event: EventKey): EventDef {
  const def = (CATALOGUE as Record<string, EventDef>)[event];
  if (!def) throw new Error(`unknown notification event ${event}`);
  return def;
}

const PLACEHOLDER = /\{(\w+)\}/g;
const OPTIONAL_PART = /\[\[(.*?)\]\]/g;

/** The parameter names a template uses. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** People's own words (a reviewer's note, a stated reason): their last full stop goes, as the template puts one after them. */
const FREE_TEXT = new Set(['note', 'reason']);
const TRAILING_STOP = /[。．.；;，,]$/u;

const given = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

/** A template filled in: optional parts without all their parameters dropped, a missing required one an error. */
export function fill(template: string, values: Readonly<Record<string, string | null | undefined>>, where: string): string {
  const kept = template.replace(OPTIONAL_PART, (_m, inner: string) => (placeholdersOf(inner).every((n) => given(values[n])) ? inner : ''));
  return kept.replace(PLACEHOLDER, (_m, name: string) => {
    const v = values[name];
    // Absent is a caller's mistake; empty (a filing with no title yet) is said as it is.
    if (v === undefined || v === null) throw new Error(`notification ${where}: parameter "${name}" is missing`);
    return v;
  });
}

/** The parameters as words of one language (choices looked up; an unknown code is an error). */
function wordsFor(def: EventDef, event: string, params: Readonly<Record<string, unknown>>, lang: Lang): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') {
      out[name] = v === '' ? '' : null;
      continue;
    }
    const choices = def.choices?.[name];
    if (choices) {
      const words = choices[String(v)];
      if (!words) throw new Error(`notification ${event}: "${String(v)}" is not a choice of "${name}"`);
      out[name] = words[lang];
    } else out[name] = FREE_TEXT.has(name) ? String(v).trim().replace(TRAILING_STOP, '') : String(v);
  }
  return out;
}

export interface Rendered {
  kind: string;
  audience: Audience;
  subject: string;
  subjectEn: string;
  body: string;
  bodyEn: string;
  link: { href: string; text: string; textEn: string } | null;
}

/** An event's notification in both languages. */
export function renderEvent(event: EventKey, params: Readonly<Record<string, unknown>>): Rendered {
  const def = eventDef(event);
  const zh = wordsFor(def, event, params, 'zh');
  const en = wordsFor(def, event, params, 'en');
  // A link is a path: its parameters are ids, used as given (encoded all the same).
  const raw = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, given(v) ? String(v).split('/').map(encodeURIComponent).join('/') : null]));
  return {
    kind: def.kind,
    audience: def.audience,
    subject: fill(def.zh.subject, zh, `${event} zh subject`),
    subjectEn: fill(def.en.subject, en, `${event} en subject`),
    body: fill(def.zh.body, zh, `${event} zh body`),
    bodyEn: fill(def.en.body, en, `${event} en body`),
    link: def.link ? { href: fill(def.link.href, raw, `${event} link`), text: def.link.zh, textEn: def.link.en } : null,
  };
}
