/**
 * The acceptance receipt (受理回执) a filing gets at each submission: a number per CST year
 * (`SL` + year + 6-digit serial, e.g. SL2026000123), the time of acceptance and the legal
 * decision deadline counted from it, and a one-page A4 PDF that says so.
 *
 * The number comes from a counter document keyed by contract and submission, taken just before
 * the submission's update, which stores it with the receipt (one write instead of two on the
 * busiest request). The key makes it the same number for a retry, for two racing clicks on
 * "submit", and for a submission that lost to an edit and is made again; only a submission
 * beaten by its own withdrawal or deletion leaves its number unused (a gap, unlike registration
 * numbers, which are gap-free). A receipt left without a number (the counter unreachable) gets
 * it at its first download.
 */
import { addWorkingDays, workingDaysBetween } from '../../domain/calendar';
import { toChineseCapital } from '../../domain/capital-numerals';
import { EXPERT_REVIEW_FEN } from '../../domain/checks';
import { codeLabel, CONTRACT_SUBTYPES, CONTRACT_TYPES } from '../../domain/codes';
import { formatYuanGrouped } from '../../domain/money';
import { cstDate, cstDateTime, cstIso, cstYear } from '../../domain/time';
import { takeNumber } from '../../lib/counters';
import { conflict } from '../../lib/errors';
import { cjkPdf } from '../../lib/pdf/cjk-font';
import { changeIf } from '../../lib/transitions';
import { Contract, type ContractDoc } from './contract.model';

export interface Acceptance {
  /** The submission (1, 2, … after each return) this receipt was issued for. */
  submission: number;
  number: string | null;
  at: Date;
  /** The legal decision deadline, "YYYY-MM-DD" (CST). */
  deadline: string;
}

export const formatAcceptanceNumber = (year: number, serial: number) => `SL${year}${String(serial).padStart(6, '0')}`;
export const acceptanceCounterId = (year: number) => `acceptance-serial:${year}`;
const acceptanceKey = (contractId: string, submission: number) => `${contractId}:${submission}`;

/** Working days the bureau has to decide: 15, or 30 for an expert review (DOMAIN.md "Review"). */
export const decisionWorkingDays = (technicalAmountFen: number | null | undefined) => ((technicalAmountFen ?? 0) >= EXPERT_REVIEW_FEN ? 30 : 15);

/** The receipt of a submission made at `at`, before its number is taken (verification computes the same deadline). */
export function newAcceptance(submission: number, at: Date, technicalAmountFen: number | null | undefined): Acceptance {
  return { submission, number: null, at, deadline: addWorkingDays(cstDate(at), decisionWorkingDays(technicalAmountFen)) };
}

/** The highest serial a contract still shows for `year` (for a counter created over existing receipts). */
async function highestSerial(year: number): Promise<number> {
  const prefix = `SL${year}`;
  const top = (await Contract.findOne({ 'acceptance.number': { $regex: `^${prefix}\\d{6}$` } })
    .sort({ 'acceptance.number': -1 })
    .select({ acceptance: 1 })
    .lean()) as { acceptance?: { number?: string | null } } | null;
  return top?.acceptance?.number ? Number(top.acceptance.number.slice(prefix.length)) : 0;
}

/** The number of `contractId`'s submission: the same on every call for that submission (lib/counters). */
export async function takeAcceptanceNumber(contractId: string, acceptance: Pick<Acceptance, 'submission' | 'at'>): Promise<string> {
  const year = cstYear(new Date(acceptance.at));
  const serial = await takeNumber(acceptanceCounterId(year), acceptanceKey(contractId, acceptance.submission), () => highestSerial(year));
  return formatAcceptanceNumber(year, serial);
}

/** Gives the receipt of `contractId`'s submission its number, written to the contract unless it already has it. */
export async function numberAcceptance(contractId: string, acceptance: Pick<Acceptance, 'submission' | 'at'>): Promise<string> {
  const number = await takeAcceptanceNumber(contractId, acceptance);
  await changeIf(
    Contract,
    { _id: contractId, 'acceptance.submission': acceptance.submission, 'acceptance.number': null },
    { $set: { 'acceptance.number': number } },
  );
  return number;
}

const notSubmitted = (status: string) => conflict('CONTRACT_NOT_SUBMITTED', 'receipt.notSubmitted', { current: { status } });

/**
 * The numbered receipt of the contract's latest submission; 409 if it was never submitted.
 * Finishes what a submission left undone: the number (a crash right after submitting), or
 * the whole receipt for a filing submitted before receipts existed.
 */
export async function ensureAcceptance(doc: Pick<ContractDoc, '_id' | 'status' | 'submissionCount' | 'submittedAt' | 'technicalAmountFen' | 'acceptance'>): Promise<Acceptance> {
  const submission = doc.submissionCount ?? 0;
  if (!submission || !doc.submittedAt) throw notSubmitted(doc.status);
  const id = String(doc._id);
  let acceptance = doc.acceptance as Acceptance | null | undefined;
  if (!acceptance || acceptance.submission !== submission) {
    acceptance = newAcceptance(submission, new Date(doc.submittedAt), doc.technicalAmountFen);
    await changeIf(Contract, { _id: doc._id, submissionCount: submission, 'acceptance.submission': { $ne: submission } }, { $set: { acceptance } });
  }
  if (acceptance.number) return acceptance;
  return { ...acceptance, number: await numberAcceptance(id, acceptance) };
}

/** The receipt as the API and pages show it. */
export function acceptanceView(a: Acceptance | null | undefined): { number: string | null; at: string; deadline: string } | null {
  return a ? { number: a.number ?? null, at: cstIso(new Date(a.at)), deadline: a.deadline } : null;
}

// ── The PDF ─────────────────────────────────────────────────────────────────────────────

type Translate = (key: string, params?: Record<string, unknown>) => string;

export interface ReceiptData {
  number: string;
  acceptedAt: Date;
  deadline: string;
  workingDays: number;
  title: string;
  contractNumber: string;
  typeLabel: string;
  sellerName: string;
  buyerNames: string[];
  contractAmountFen: number | null;
  technicalAmountFen: number | null;
  agencyName: string;
  /** Where the applicant follows the filing. */
  progressUrl: string;
}

export function receiptData(
  doc: ContractDoc,
  acceptance: Acceptance,
  opts: { lang: string; agencyName: string; publicUrl: string },
): ReceiptData {
  const subs = doc.type ? (CONTRACT_SUBTYPES as Record<string, Record<string, { zh: string; en: string }>>)[doc.type] : undefined;
  const type = codeLabel(CONTRACT_TYPES, doc.type, opts.lang);
  const subtype = subs && doc.subtype ? codeLabel(subs, doc.subtype, opts.lang) : '';
  const acceptedOn = cstDate(new Date(acceptance.at));
  return {
    number: acceptance.number ?? '',
    acceptedAt: new Date(acceptance.at),
    deadline: acceptance.deadline,
    // From the receipt itself (not today's amount, which a returned filing may have changed since).
    workingDays: workingDaysBetween(acceptedOn, acceptance.deadline),
    title: doc.title ?? '',
    contractNumber: doc.contractNumber ?? '',
    typeLabel: subtype ? `${type}（${subtype}）` : type,
    sellerName: doc.seller?.name ?? '',
    buyerNames: (doc.buyers ?? []).map((b) => b.name ?? '').filter(Boolean),
    contractAmountFen: typeof doc.contractAmountFen === 'number' ? doc.contractAmountFen : null,
    technicalAmountFen: typeof doc.technicalAmountFen === 'number' ? doc.technicalAmountFen : null,
    agencyName: opts.agencyName,
    progressUrl: `${opts.publicUrl}/contracts/${String(doc._id)}`,
  };
}

/** Renders the receipt as a one-page A4 PDF in the reader's language (`t` of the `receipt.pdf` texts). */
export async function renderReceipt(d: ReceiptData, t: Translate, lang: string): Promise<Buffer> {
  const title = t('receipt.pdf.title');
  const { doc, done } = cjkPdf({ Title: `${title} ${d.number}`, Author: d.agencyName });

  const left = 70;
  const width = doc.page.width - 2 * left;
  const amount = (fen: number | null) =>
    fen === null ? '—' : lang === 'en' ? t('receipt.pdf.amount', { amount: formatYuanGrouped(fen) }) : `${t('receipt.pdf.amount', { amount: formatYuanGrouped(fen) })}（${toChineseCapital(fen)}）`;

  doc.rect(40, 40, doc.page.width - 80, doc.page.height - 80).lineWidth(1).strokeColor('#0b5cad').stroke();
  doc.fillColor('#1b2430').fontSize(22).text(title, left, 76, { width, align: 'center' });
  doc.fontSize(10).fillColor('#566173').text(t('receipt.pdf.subtitle'), { width, align: 'center' });
  doc.moveDown(1.2);
  doc.fontSize(13).fillColor('#1b2430').text(`${t('receipt.pdf.number')}${lang === 'en' ? ': ' : '：'}${d.number}`, { width, align: 'center' });
  doc.moveDown(1.4);

  const rows: [string, string][] = [
    [t('receipt.pdf.acceptedAt'), cstDateTime(d.acceptedAt)],
    [t('receipt.pdf.contractTitle'), d.title || '—'],
    [t('receipt.pdf.contractNumber'), d.contractNumber || '—'],
    [t('receipt.pdf.type'), d.typeLabel || '—'],
    [t('receipt.pdf.seller'), d.sellerName || '—'],
    [t('receipt.pdf.buyers'), d.buyerNames.join('；') || '—'],
    [t('receipt.pdf.contractAmount'), amount(d.contractAmountFen)],
    [t('receipt.pdf.technicalAmount'), amount(d.technicalAmountFen)],
    [t('receipt.pdf.deadline'), d.deadline],
    [t('receipt.pdf.agency'), d.agencyName],
  ];
  const labelWidth = lang === 'en' ? 130 : 90;
  for (const [label, value] of rows) {
    const y = doc.y;
    doc.fontSize(11).fillColor('#566173').text(label, left, y, { width: labelWidth - 8 });
    const labelEnd = doc.y;
    doc.fillColor('#1b2430').text(value, left + labelWidth, y, { width: width - labelWidth });
    doc.y = Math.max(doc.y, labelEnd);
    doc.moveDown(0.6);
  }

  doc.moveDown(0.8);
  doc.fontSize(11).fillColor('#1b2430');
  doc.text(t('receipt.pdf.accepted', { at: cstDateTime(d.acceptedAt) }), left, doc.y, { width });
  doc.moveDown(0.4);
  doc.text(t('receipt.pdf.decideWithin', { days: d.workingDays, deadline: d.deadline }), { width });
  doc.moveDown(0.4);
  doc.text(t('receipt.pdf.enquiries', { url: d.progressUrl, agency: d.agencyName }), { width });
  doc.moveDown(0.8);
  doc.fontSize(9).fillColor('#566173').text(t('receipt.pdf.note'), { width });

  doc.fontSize(13).fillColor('#1b2430').text(d.agencyName, left, Math.max(doc.y + 36, 660), { width, align: 'right' });
  doc.fontSize(11).text(cstDate(d.acceptedAt), left, doc.y + 4, { width, align: 'right' });
  doc.end();
  return done;
}
