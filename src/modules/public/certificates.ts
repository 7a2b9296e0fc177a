/** Public verification of a registration certificate (the QR code's target). No contact data. */
import { Router } from 'express';
import { z } from 'zod';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import { cstDate, cstIso } from '../../domain/time';
import { notFound } from '../../lib/errors';
import { NUMBERED_STATUSES } from '../../domain/statuses';
import { Contract } from '../contracts/contract.model';
import { openToAnyone } from '../../lib/http/authorize';

/**
 * A registration's public life: version 1 when registered, one more with each registered
 * change, then its cancellation or revocation. Times only: the reasons stay with the parties.
 */
export function versionsOf(history: { action?: string | null; at?: Date | null }[]): { version: number; event: string; at: string }[] {
  const out: { version: number; event: string; at: string }[] = [];
  let version = 0;
  for (const h of history) {
    if (!h.at || !['registered', 'changed', 'cancelled', 'revoked'].includes(h.action ?? '')) continue;
    if (h.action === 'registered' || h.action === 'changed') version += 1;
    out.push({ version: Math.max(version, 1), event: h.action!, at: cstIso(new Date(h.at)) });
  }
  return out;
}

export async function findCertificate(registrationNumber: string) {
  if (!/^\d{16}$/.test(registrationNumber)) return null;
  // The `$type` repeats the partial index's filter, which DocumentDB needs to use it.
  const doc = await Contract.findOne({ $and: [{ registrationNumber }, { registrationNumber: { $type: 'string' } }], status: { $in: NUMBERED_STATUSES } })
    .select({ registrationNumber: 1, status: 1, title: 1, 'seller.name': 1, 'buyers.name': 1, contractAmountFen: 1, technicalAmountFen: 1, registeredAt: 1, registrationVersion: 1, 'history.action': 1, 'history.at': 1 })
    .lean();
  if (!doc) return null;
  return {
    registrationNumber: doc.registrationNumber!,
    status: doc.status as 'registered' | 'revoked' | 'cancelled',
    version: doc.registrationVersion ?? 1,
    versions: versionsOf(doc.history ?? []),
    title: doc.title ?? '',
    sellerName: doc.seller?.name ?? '',
    buyerNames: (doc.buyers ?? []).map((b) => b.name ?? ''),
    contractAmountFen: doc.contractAmountFen ?? 0,
    technicalAmountFen: doc.technicalAmountFen ?? 0,
    registeredAt: doc.registeredAt!,
  };
}

/** What a person may type for a registration number: digits, perhaps full-width (１２３) or grouped with spaces. */
export const verifyQuerySchema = z.object({ number: z.string().max(200).optional() });

/** The 16 digits of a typed registration number, or why it is not one ('required' when blank, 'format' otherwise). */
export function parseRegistrationNumber(typed: string): { ok: true; number: string } | { ok: false; error: 'required' | 'format' } {
  const digits = typed.replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 48)).replace(/[\s\u3000-]+/g, '');
  if (!digits) return { ok: false, error: 'required' };
  return /^\d{16}$/.test(digits) ? { ok: true, number: digits } : { ok: false, error: 'format' };
}

export function certificatesPublic(): Router {
  const router = Router();

  /** GET /api/v1/public/certificates/{registrationNumber}: registered, cancelled or revoked, with its versions; 404 unknown. */
  router.get('/api/v1/public/certificates/:number', openToAnyone('certificate verification'), async (req, res) => {
    const c = await findCertificate(req.params.number as string);
    if (!c) throw notFound();
    res.set('Cache-Control', 'public, max-age=60').json({
      registrationNumber: c.registrationNumber,
      status: c.status,
      version: c.version,
      versions: c.versions,
      title: c.title,
      sellerName: c.sellerName,
      buyerNames: c.buyerNames,
      contractAmount: formatYuan(c.contractAmountFen),
      technicalAmount: formatYuan(c.technicalAmountFen),
      registeredAt: cstIso(c.registeredAt),
    });
  });

  /** GET /verify?number=…: the verification form; a well-formed number goes on to /verify/<number>, anything else is shown again with what is wrong (422). */
  router.get('/verify', openToAnyone('certificate verification'), (req, res) => {
    const q = verifyQuerySchema.safeParse(req.query);
    if (q.success && q.data.number === undefined) {
      res.render('public/verify', { number: '', cert: null, searched: false, error: null });
      return;
    }
    // Repeated (number=a&number=b) or overlong: no number either, and the form shows what can be shown.
    const typed = q.success ? q.data.number! : typeof req.query.number === 'string' ? req.query.number.slice(0, 200) : '';
    const parsed = q.success ? parseRegistrationNumber(typed) : ({ ok: false, error: 'format' } as const);
    if (parsed.ok) {
      res.redirect(303, `/verify/${parsed.number}`);
      return;
    }
    res.status(422).render('public/verify', { number: typed, cert: null, searched: false, error: parsed.error === 'required' ? 'verify.numberRequired' : 'verify.badNumber' });
  });

  /** GET /verify/:number: the public verification page (the certificate's QR code links here). */
  router.get('/verify/:number', openToAnyone('certificate verification'), async (req, res) => {
    const c = await findCertificate(req.params.number as string);
    res.status(c ? 200 : 404).render('public/verify', {
      number: req.params.number,
      searched: true,
      error: null,
      cert: c && {
        ...c,
        contractAmountText: formatYuanGrouped(c.contractAmountFen),
        technicalAmountText: formatYuanGrouped(c.technicalAmountFen),
        registeredOn: cstDate(c.registeredAt),
      },
    });
  });

  return router;
}
