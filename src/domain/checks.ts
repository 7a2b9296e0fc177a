/**
 * The automatic checks run on every submitted filing (DOMAIN.md "Checks worth automating").
 * Pure: the caller gathers what needs I/O (possible duplicates, PDF readability) first.
 */
import type { ContractFields } from './contract-input';
import { formatYuanGrouped } from './money';
import { checkUscc } from './uscc';

export type Severity = 'info' | 'warning' | 'error';

export interface Finding {
  code: string;
  severity: Severity;
  message: string;
  messageEn: string;
  /** Related records (e.g. the contracts this one may duplicate). */
  related: string[];
}

/**
 * Findings whose text names another organisation's filing: the bureau needs the details and
 * the link; the applicant sees only that a similar filing exists (never its title or id).
 */
const FOR_APPLICANT: Record<string, { message: string; messageEn: string }> = {
  DUPLICATE_SUSPECTED: {
    message: '系统发现已有与本申请相似的登记申请，登记机构将予以核实。',
    messageEn: 'A similar filing exists; the bureau will check it.',
  },
};

/** A finding as its reader may see it: in full for the bureau, without others' data for the applicant. */
export function findingFor(finding: Finding, audience: 'applicant' | 'bureau'): Finding {
  if (audience === 'bureau') return finding;
  const generic = FOR_APPLICANT[finding.code];
  return generic ? { code: finding.code, severity: finding.severity, ...generic, related: [] } : { ...finding, related: [] };
}

/** Technical transaction amount from which a filing goes to expert review (5 million yuan). */
export const EXPERT_REVIEW_FEN = 5_000_000_00;
/** Contract turnover from which a contract counts as a "large contract" (10 million yuan). */
export const LARGE_CONTRACT_FEN = 10_000_000_00;

export interface PossibleDuplicate {
  id: string;
  title: string;
  status: string;
  reason: 'same_parties_and_amount' | 'similar_title';
}

export interface CheckContext {
  /** CST date on which the filing was accepted (submitted). */
  filedOn: string;
  /** The registration agency's administrative code (e.g. 630100). */
  agencyCode: string;
  duplicates: PossibleDuplicate[];
  /** Attachments whose stored PDF could not be read back. */
  unreadableAttachments: string[];
  attachmentCount: number;
}

const f = (code: string, severity: Severity, message: string, messageEn: string, related: string[] = []): Finding => ({
  code,
  severity,
  message,
  messageEn,
  related,
});

/** Whether `region` lies within the agency's area (same city, or the same province for a province-level agency). */
export function withinAgencyArea(region: string | undefined, agencyCode: string): boolean {
  if (!region) return false;
  const prefix = agencyCode.endsWith('0000') ? agencyCode.slice(0, 2) : agencyCode.endsWith('00') ? agencyCode.slice(0, 4) : agencyCode;
  return region.startsWith(prefix);
}

export function runChecks(c: ContractFields, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const parties = [
    { label: '卖方', labelEn: 'The seller', p: c.seller },
    ...(c.coSellers ?? []).map((s, i) => ({ label: `共同卖方 ${i + 1}`, labelEn: `Co-seller ${i + 1}`, p: s })),
    ...(c.buyers ?? []).map((b, i) => ({ label: `买方 ${i + 1}`, labelEn: `Buyer ${i + 1}`, p: b })),
  ];
  for (const { label, labelEn, p } of parties) {
    if (!p?.uscc) continue;
    const res = checkUscc(p.uscc);
    if (!res.ok && res.reason === 'check') {
      out.push(
        f(
          'USCC_CHECK_FAILED',
          'warning',
          `${label}（${p.name ?? ''}）的统一社会信用代码 ${p.uscc} 校验位不符，应为“${res.expected}”。早期试点代码可能如此，请核对证照。`,
          `${labelEn} (${p.name ?? ''}) has credit code ${p.uscc}, whose check character should be "${res.expected}". Early pilot codes can be like this: check the certificate.`,
        ),
      );
    }
  }
  const sellerCode = c.seller?.uscc;
  (c.buyers ?? []).forEach((b, i) => {
    const sameId = Boolean(b.idNumber && b.idNumber === c.seller?.idNumber);
    if ((sellerCode && b.uscc === sellerCode) || sameId || (b.name && c.seller?.name && b.name.trim() === c.seller.name.trim())) {
      out.push(f('SELLER_IS_BUYER', 'error', `买方 ${i + 1} 与卖方为同一单位。`, `Buyer ${i + 1} is the seller itself.`));
    }
  });
  if (c.contractAmountFen !== undefined && c.technicalAmountFen !== undefined && c.technicalAmountFen > c.contractAmountFen) {
    out.push(f('TECHNICAL_ABOVE_TURNOVER', 'error', '技术交易额大于合同成交额。', 'The technical transaction amount exceeds the contract turnover.'));
  }
  if (c.signedOn && c.signedOn > ctx.filedOn) {
    out.push(f('SIGNED_IN_FUTURE', 'error', `签订日期 ${c.signedOn} 晚于提交日期 ${ctx.filedOn}。`, `The signing date ${c.signedOn} is after the filing date ${ctx.filedOn}.`));
  }
  if (c.signedOn && c.validTo && c.signedOn > c.validTo) {
    out.push(f('SIGNED_AFTER_VALIDITY', 'error', `签订日期 ${c.signedOn} 晚于有效期截止日 ${c.validTo}。`, `The signing date ${c.signedOn} is after the end of validity ${c.validTo}.`));
  }
  if (c.validFrom && c.validTo && (ctx.filedOn < c.validFrom || ctx.filedOn > c.validTo)) {
    out.push(
      f(
        'FILED_OUTSIDE_VALIDITY',
        'warning',
        `提交日期 ${ctx.filedOn} 不在合同有效期（${c.validFrom} 至 ${c.validTo}）内；合同应在生效后、有效期内申请登记。`,
        `Filed on ${ctx.filedOn}, outside the contract's validity (${c.validFrom} to ${c.validTo}); contracts are registered after taking effect and within their validity.`,
      ),
    );
  }
  if (c.seller?.regionCode && !withinAgencyArea(c.seller.regionCode, ctx.agencyCode)) {
    out.push(
      f(
        'SELLER_OUTSIDE_AREA',
        'warning',
        '卖方所在地不在本登记机构辖区内；技术合同应在卖方所在地登记。',
        "The seller is not located in this agency's area; contracts are registered where the seller is.",
      ),
    );
  }
  for (const d of ctx.duplicates) {
    out.push(
      f(
        'DUPLICATE_SUSPECTED',
        'warning',
        d.reason === 'same_parties_and_amount'
          ? `可能重复登记：合同“${d.title}”的当事人与金额相同。`
          : `可能重复登记：合同“${d.title}”名称高度相似，且时间相近。`,
        d.reason === 'same_parties_and_amount'
          ? `Possible duplicate: "${d.title}" has the same parties and amount.`
          : `Possible duplicate: "${d.title}" has a very similar title and close dates.`,
        [d.id],
      ),
    );
  }
  if (c.relatedParty) {
    out.push(f('RELATED_PARTY', 'warning', '申请人申报为关联交易，请核实定价是否公允。', 'Declared a related-party transaction: check that the price is at arm’s length.'));
  }
  if (c.technicalAmountFen !== undefined && c.technicalAmountFen >= EXPERT_REVIEW_FEN) {
    out.push(
      f(
        'EXPERT_REVIEW',
        'info',
        `技术交易额 ${formatYuanGrouped(c.technicalAmountFen)} 元，达到 500 万元，须专家评审（办结期限 30 个工作日）。`,
        `Technical amount ${formatYuanGrouped(c.technicalAmountFen)} yuan reaches 5 million: expert review (decision within 30 working days).`,
      ),
    );
  }
  if (c.contractAmountFen !== undefined && c.contractAmountFen >= LARGE_CONTRACT_FEN) {
    out.push(f('LARGE_CONTRACT', 'info', '成交额达到 1000 万元，计入重大合同统计。', 'Turnover of 10 million yuan or more: counted as a large contract.'));
  }
  if (ctx.attachmentCount === 0) {
    out.push(f('PDF_MISSING', 'error', '未上传已签署的合同文本。', 'The signed contract text is missing.'));
  }
  for (const name of ctx.unreadableAttachments) {
    out.push(f('PDF_UNREADABLE', 'error', `附件“${name}”无法读取。`, `The attachment "${name}" cannot be read.`));
  }
  return out;
}

/** Title likeness from 0 to 1: the Dice coefficient of character bigrams, ignoring spaces and punctuation. */
export function titleSimilarity(a: string, b: string): number {
  const norm = (s: string) => s.toLowerCase().replace(/[\s\p{P}]/gu, '');
  const x = norm(a);
  const y = norm(b);
  if (!x || !y) return 0;
  if (x === y) return 1;
  const grams = (s: string) => {
    const m = new Map<string, number>();
    for (let i = 0; i < s.length - 1; i++) m.set(s.slice(i, i + 2), (m.get(s.slice(i, i + 2)) ?? 0) + 1);
    return m;
  };
  const gx = grams(x);
  const gy = grams(y);
  let common = 0;
  for (const [g, n] of gx) common += Math.min(n, gy.get(g) ?? 0);
  const total = Math.max(1, x.length - 1) + Math.max(1, y.length - 1);
  return (2 * common) / total;
}

/** Titles at least this alike, signed within 90 days of each other, count as possible duplicates. */
export const SIMILAR_TITLE_THRESHOLD = 0.85;
export const DUPLICATE_WINDOW_DAYS = 90;
