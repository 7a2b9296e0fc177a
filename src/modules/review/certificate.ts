/**
 * The registration certificate (技术合同登记证明): a one-page PDF with the registration
 * number, parties, type, both amounts in figures and in capital numerals, the registration
 * date, the agency, and a QR code linking to the public verification page. Rendered by the
 * certificates worker (or on demand when the stored file is missing), kept in GridFS.
 */
import type QRCodeLib from 'qrcode';
import { lazy } from '../../lib/lazy';
import { toChineseCapital } from '../../domain/capital-numerals';
import { CONTRACT_SUBTYPES, CONTRACT_TYPES } from '../../domain/codes';
import { formatYuanGrouped } from '../../domain/money';
import { cstDate } from '../../domain/time';
import { enqueue, type Queues } from '../../lib/queues';
import { updateIf } from '../../lib/transitions';
import { deletePdf, storedSize, storePdf } from '../contracts/attachments.store';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { cjkPdf } from '../../lib/pdf/cjk-font';
import { notifyEventQuietly, type NotifyDeps } from '../notifications/notifications.events';

const QRCode = lazy(() => require('qrcode') as typeof QRCodeLib);

export interface CertificateData {
  registrationNumber: string;
  title: string;
  type: string;
  subtype: string | null;
  sellerName: string;
  buyerNames: string[];
  contractAmountFen: number;
  technicalAmountFen: number;
  registeredAt: Date;
  agencyName: string;
  verifyUrl: string;
  /** The registration's version: from 2 on, the certificate says "第 N 版" and when the change was registered. */
  version: number;
  versionAt: Date | null;
}

export const verifyUrlFor = (publicUrl: string, registrationNumber: string) => `${publicUrl}/verify/${registrationNumber}`;

export function certificateData(doc: ContractDoc, agencyName: string, publicUrl: string): CertificateData {
  if (!doc.registrationNumber || !doc.registeredAt) throw new Error(`contract ${doc._id} is not registered`);
  return {
    registrationNumber: doc.registrationNumber,
    title: doc.title ?? '',
    type: doc.type ?? '',
    subtype: doc.subtype ?? null,
    sellerName: doc.seller?.name ?? '',
    buyerNames: (doc.buyers ?? []).map((b) => b.name ?? ''),
    contractAmountFen: doc.contractAmountFen ?? 0,
    technicalAmountFen: doc.technicalAmountFen ?? 0,
    registeredAt: doc.registeredAt,
    agencyName,
    verifyUrl: verifyUrlFor(publicUrl, doc.registrationNumber),
    version: doc.registrationVersion ?? 1,
    versionAt: [...(doc.history ?? [])].reverse().find((h) => h.action === 'changed')?.at ?? null,
  };
}

/** Draws the QR code as vector squares (no PNG to encode and decode again; sharp at any size). */
function drawQr(doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number): void {
  const qr = QRCode().create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const cell = size / (n + 2); // one module of quiet zone on each side
  doc.save().rect(x, y, size, size).fill('#ffffff');
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.modules.get(r, c)) doc.rect(x + (c + 1) * cell, y + (r + 1) * cell, cell, cell);
  }
  doc.fill('#000000').restore();
}

export async function renderCertificate(d: CertificateData): Promise<Buffer> {
  const { doc, done } = cjkPdf({ Title: `技术合同登记证明 ${d.registrationNumber}`, Author: d.agencyName });

  const width = doc.page.width - 112;
  doc.rect(40, 40, doc.page.width - 80, doc.page.height - 80).lineWidth(2).strokeColor('#0b5cad').stroke();
  doc.fillColor('#1b2430').fontSize(26).text('技术合同登记证明', 56, 80, { width, align: 'center' });
  doc.fontSize(11).fillColor('#566173').text('Technology Contract Registration Certificate', { width, align: 'center' });
  doc.moveDown(1.5);
  doc.fontSize(13).fillColor('#1b2430').text(`登记编号：${d.registrationNumber}`, { width, align: 'center' });
  if (d.version > 1) doc.fontSize(11).fillColor('#566173').text(`第 ${d.version} 版 / version ${d.version}${d.versionAt ? `（变更登记日期 ${cstDate(d.versionAt)}）` : ''}`, { width, align: 'center' });
  doc.moveDown(1.5);

  const typeLabel = CONTRACT_TYPES[d.type as keyof typeof CONTRACT_TYPES]?.zh ?? d.type;
  const subs = CONTRACT_SUBTYPES[d.type as keyof typeof CONTRACT_SUBTYPES] as Record<string, { zh: string }> | undefined;
  const subtypeLabel = d.subtype && subs?.[d.subtype] ? `（${subs[d.subtype].zh}）` : '';
  const rows: [string, string][] = [
    ['合同名称', d.title],
    ['合同类别', `${typeLabel}${subtypeLabel}`],
    ['卖方', d.sellerName],
    ['买方', d.buyerNames.join('；')],
    ['合同成交额', `人民币 ${formatYuanGrouped(d.contractAmountFen)} 元（大写：${toChineseCapital(d.contractAmountFen)}）`],
    ['技术交易额', `人民币 ${formatYuanGrouped(d.technicalAmountFen)} 元（大写：${toChineseCapital(d.technicalAmountFen)}）`],
    ['登记日期', cstDate(d.registeredAt)],
    ['登记机构', d.agencyName],
  ];
  const labelWidth = 90;
  for (const [label, value] of rows) {
    const y = doc.y;
    doc.fontSize(12).fillColor('#566173').text(label, 70, y, { width: labelWidth });
    doc.fillColor('#1b2430').text(value, 70 + labelWidth, y, { width: width - labelWidth - 28 });
    doc.moveDown(0.8);
  }
  doc.moveDown(1);
  doc.fontSize(11).fillColor('#1b2430').text('经审核，上述技术合同符合《技术合同认定登记管理办法》的规定，准予登记。', 70, doc.y, { width: width - 28 });
  const qrY = Math.max(doc.y + 24, 560);
  drawQr(doc, d.verifyUrl, 70, qrY, 110);
  doc.fontSize(9).fillColor('#566173').text('扫码或访问以下地址核验本证明：', 195, qrY + 10, { width: width - 150 });
  doc.text(d.verifyUrl, 195, doc.y + 4, { width: width - 150 });
  doc.fontSize(14).fillColor('#1b2430').text(d.agencyName, 56, qrY + 150, { width, align: 'right' });
  doc.fontSize(11).text(cstDate(d.registeredAt), 56, doc.y + 4, { width, align: 'right' });
  doc.end();
  return done;
}

/**
 * The stored certificate of a registered contract, rendering and storing it when it is
 * missing. Safe to run twice or concurrently: one file ends up referenced; extras are removed.
 */
export async function ensureCertificate(contractId: string, agencyName: string, publicUrl: string): Promise<{ fileId: string; size: number; rendered: boolean }> {
  const doc = (await Contract.findById(contractId).lean()) as ContractDoc | null;
  if (!doc) throw new Error(`contract ${contractId} not found`);
  if (doc.status !== 'registered' && doc.status !== 'revoked' && doc.status !== 'cancelled') throw new Error(`contract ${contractId} is ${doc.status}, not registered`);
  // Numbered just after the decision; the job retries until it is.
  if (!doc.registrationNumber) throw new Error(`contract ${contractId} has no registration number yet`);
  if (doc.certificateFileId) {
    const size = await storedSize(doc.certificateFileId);
    if (size) return { fileId: doc.certificateFileId, size, rendered: false };
  }
  const pdf = await renderCertificate(certificateData(doc, agencyName, publicUrl));
  const fileId = await storePdf(pdf, `certificate-${doc.registrationNumber}.pdf`, { contractId, kind: 'certificate' });
  const stale = doc.certificateFileId;
  // Referenced only if no other renderer's file got there first (the stale one may be replaced),
  // and only for the version it shows: a change approved meanwhile awaits its own.
  const taken = await updateIf<ContractDoc>(
    Contract,
    { _id: doc._id, certificateFileId: stale ?? null, registrationVersion: doc.registrationVersion ?? null },
    { $set: { certificateFileId: fileId } },
  );
  if (!taken) {
    await deletePdf(fileId);
    const current = (await Contract.findById(contractId).select({ certificateFileId: 1 }).lean()) as ContractDoc | null;
    return { fileId: current!.certificateFileId!, size: (await storedSize(current!.certificateFileId!)) ?? 0, rendered: false };
  }
  return { fileId, size: pdf.length, rendered: true };
}

/**
 * The certificate worker's job: the certificate rendered (once), then the applicant told it is
 * ready, once per registration version, and only for the version whose file is now the one
 * referenced (a change approved meanwhile brings its own certificate and its own notice).
 */
export async function produceCertificate(contractId: string, agencyName: string, publicUrl: string, notifyDeps: NotifyDeps = { queues: null }) {
  const result = await ensureCertificate(contractId, agencyName, publicUrl);
  const doc = (await Contract.findById(contractId).select({ status: 1, title: 1, organizationId: 1, registrationNumber: 1, registrationVersion: 1, certificateFileId: 1 }).lean()) as ContractDoc | null;
  if (doc && doc.status === 'registered' && doc.registrationNumber && doc.certificateFileId === result.fileId) {
    const version = doc.registrationVersion ?? 1;
    await notifyEventQuietly(
      notifyDeps,
      'certificate.ready',
      { contractId, organizationId: String(doc.organizationId), title: doc.title ?? '', registrationNumber: doc.registrationNumber, version },
      `contract:${contractId}:certificate:v${version}`,
    );
  }
  return result;
}

/** Queues the certificate of every registered contract that has none yet. */
export async function requeueMissingCertificates(queues: Queues): Promise<number> {
  // Only numbered ones: a decision still being carried out queues its own certificate.
  // The filter of the partial index that holds only registered contracts awaiting their
  // certificate, word for word (DocumentDB uses it only then), with a condition for its scan;
  // status and number are checked on those few (a decision still being carried out has none yet).
  const found = await Contract.find({ certificateFileId: { $type: 'null' }, registeredAt: { $lte: new Date() } })
    .select({ _id: 1, status: 1, registrationNumber: 1, registrationVersion: 1 })
    .lean();
  const missing = found.filter((c) => c.status === 'registered' && typeof c.registrationNumber === 'string');
  for (const c of missing) await enqueue(queues, 'certificates', 'render', { contractId: String(c._id) }, certificateJobId(String(c._id), c.registrationVersion));
  return missing.length;
}

/** One render job per contract and registration version (a change's new certificate is a new job). */
export const certificateJobId = (contractId: string, version: number | null | undefined) => ((version ?? 1) > 1 ? `cert-${contractId}-v${version}` : `cert-${contractId}`);
