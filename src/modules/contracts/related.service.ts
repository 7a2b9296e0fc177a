/**
 * "与我相关": registered contracts that another organisation filed and that name the user's
 * verified organisation as a party (buyer, seller or co-seller), matched by its unified social
 * credit code. Read-only, and only what the parties to a contract share: names, roles, codes
 * and amounts. The filer's findings, history notes, attachments and the other parties' contact
 * details stay with the filer and the bureau.
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { formatYuan } from '../../domain/money';
import { cstIso } from '../../domain/time';
import { AppError, notFound } from '../../lib/errors';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { getOrganization } from '../organizations/organizations.service';
import { Contract, type ContractDoc } from './contract.model';
import { textFilter } from './contracts.service';
import { contractLabels, partyLabels } from './contract-labels';

/** What a party may see of a contract it did not file: registered, and what became of a registration. */
export const RELATED_STATUSES = ['registered', 'cancelled', 'revoked'] as const;
export type RelatedStatus = (typeof RELATED_STATUSES)[number];
export type PartyRole = 'seller' | 'buyer' | 'coSeller';

/** The filer's working data, never shown to the other parties. */
const PRIVATE_FIELDS = { findings: 0, history: 0, attachments: 0, draftRaw: 0, decision: 0, pendingEffects: 0 } as const;

interface StoredParty {
  name?: string | null;
  uscc?: string | null;
  nature?: string | null;
  regionCode?: string | null;
  country?: string | null;
  legalRepresentative?: string | null;
  contactPerson?: string | null;
  phone?: string | null;
  email?: string | null;
  address?: string | null;
}

export type RelatedRecord = ContractDoc;

/** The organisation's credit code if it may see related contracts (verified); otherwise a 403 saying why. */
async function partyCode(user: CurrentUser): Promise<{ organizationId: string; uscc: string }> {
  if (user.role !== 'applicant' || !user.organizationId) throw new AppError('FORBIDDEN');
  const org = await getOrganization(user.organizationId);
  if (org?.status !== 'verified') throw new AppError('FORBIDDEN', { code: 'ORGANIZATION_NOT_VERIFIED', messageKey: 'related.notVerified' });
  return { organizationId: user.organizationId, uscc: org.uscc };
}

/**
 * The contracts naming `uscc` that another organisation filed, in a status a party may see.
 * The `$or` is served by the indexes on the three credit-code paths, but only when each branch
 * has one (`buyers.uscc`, `seller.uscc`, `coSellers.uscc`); without them the databases read every
 * registered contract. "Not our own filing" is checked on the rows found (`$expr`): as a plain
 * `$ne` it would lead DocumentDB to scan the organisation index for almost every contract.
 */
function relatedFilter(uscc: string, organizationId: string): Record<string, unknown> {
  return {
    // The buyer and co-seller branches repeat their partial indexes' filter word for word (DocumentDB needs it).
    $or: [
      { 'buyers.uscc': uscc, registrationNumber: { $type: 'string' } },
      { 'seller.uscc': uscc },
      { 'coSellers.uscc': uscc, registrationNumber: { $type: 'string' } },
    ],
    status: { $in: RELATED_STATUSES },
    $expr: { $ne: ['$organizationId', new Types.ObjectId(organizationId)] },
  };
}

export const relatedQuerySchema = z.object({
  status: z.enum(RELATED_STATUSES).optional().or(z.literal('').transform(() => undefined)),
  q: z.string().trim().max(100).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type RelatedQuery = z.output<typeof relatedQuerySchema>;

/** The list, newest registration first. 403 ORGANIZATION_NOT_VERIFIED until the bureau has verified the organisation. */
export async function listRelated(user: CurrentUser, rawQuery: unknown) {
  const q = parseInput(relatedQuerySchema, rawQuery);
  const { organizationId, uscc } = await partyCode(user);
  const and: Record<string, unknown>[] = [relatedFilter(uscc, organizationId)];
  if (q.status) and.push({ status: q.status });
  if (q.q) and.push(textFilter(q.q, 'private'));
  const filter = and.length === 1 ? and[0] : { $and: and };
  const [items, total] = await Promise.all([
    Contract.find(filter)
      .sort({ registeredAt: -1, _id: -1 })
      .skip((q.page - 1) * q.pageSize)
      .limit(q.pageSize)
      .select(PRIVATE_FIELDS)
      .lean(),
    Contract.countDocuments(filter),
  ]);
  return { items: items as RelatedRecord[], page: q.page, pageSize: q.pageSize, total, query: q, uscc };
}

/**
 * One related contract: 404 unless the user's organisation is verified, named in it, did not
 * file it, and it is registered, cancelled or revoked (never a draft or a filing in review).
 */
export async function loadRelated(user: CurrentUser, id: string): Promise<RelatedRecord & { viewerUscc: string }> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  let party;
  try {
    party = await partyCode(user);
  } catch (err) {
    // An organisation not (yet) verified sees no related contract: the same 404 as anyone else's.
    if (err instanceof AppError && err.kind === 'FORBIDDEN' && user.role === 'applicant') throw notFound();
    throw err;
  }
  const doc = (await Contract.findOne({ _id: new Types.ObjectId(id), ...relatedFilter(party.uscc, party.organizationId) })
    .select(PRIVATE_FIELDS)
    .lean()) as RelatedRecord | null;
  if (!doc) throw notFound();
  return { ...doc, viewerUscc: party.uscc };
}

// ── Output ─────────────────────────────────────────────────────────────────────────────

const money = (fen: number | null | undefined) => (typeof fen === 'number' ? formatYuan(fen) : null);

/** The roles `uscc` has in the contract (a code may appear more than once, e.g. seller and buyer). */
export function rolesOf(doc: RelatedRecord, uscc: string): PartyRole[] {
  const roles: PartyRole[] = [];
  if (doc.seller?.uscc === uscc) roles.push('seller');
  if ((doc.buyers ?? []).some((b) => b.uscc === uscc)) roles.push('buyer');
  if ((doc.coSellers ?? []).some((c) => c?.uscc === uscc)) roles.push('coSeller');
  return roles;
}

/**
 * A party as the other parties see it: who they are and where. The contact details only on
 * the viewer's own entry, so it can check what the filer recorded about it.
 */
function partyView(p: StoredParty, role: PartyRole, viewerUscc: string) {
  const own = Boolean(p.uscc) && p.uscc === viewerUscc;
  return {
    role,
    name: p.name ?? null,
    uscc: p.uscc ?? null,
    nature: p.nature ?? null,
    regionCode: p.regionCode ?? null,
    country: p.country ?? null,
    isYou: own,
    ...(own
      ? {
          contact: {
            legalRepresentative: p.legalRepresentative ?? null,
            contactPerson: p.contactPerson ?? null,
            phone: p.phone ?? null,
            email: p.email ?? null,
            address: p.address ?? null,
          },
        }
      : {}),
  };
}

/** When a registration ended: its cancellation or revocation time, or null. */
function endedAt(doc: RelatedRecord): Date | null {
  if (doc.status === 'revoked') return doc.revokedAt ?? null;
  if (doc.status === 'cancelled') return doc.cancelledAt ?? null;
  return null;
}

/** The API shape of a related contract. */
export function relatedToApi(doc: RelatedRecord, viewerUscc: string) {
  const ended = endedAt(doc);
  return {
    id: String(doc._id),
    status: doc.status as RelatedStatus,
    registrationNumber: doc.registrationNumber ?? null,
    registeredAt: doc.registeredAt ? cstIso(doc.registeredAt) : null,
    cancelledAt: doc.status === 'cancelled' && ended ? cstIso(ended) : null,
    revokedAt: doc.status === 'revoked' && ended ? cstIso(ended) : null,
    title: doc.title ?? null,
    contractNumber: doc.contractNumber ?? null,
    type: doc.type ?? null,
    subtype: doc.subtype ?? null,
    signedOn: doc.signedOn ?? null,
    validFrom: doc.validFrom ?? null,
    validTo: doc.validTo ?? null,
    contractAmount: money(doc.contractAmountFen),
    technicalAmount: money(doc.technicalAmountFen),
    deductions: (doc.deductions ?? []).map((d) => ({ item: d.item, amount: formatYuan(d.amountFen ?? 0) })),
    paymentMethod: doc.paymentMethod ?? null,
    technicalField: doc.technicalField ?? null,
    ipType: doc.ipType ?? null,
    yourRoles: rolesOf(doc, viewerUscc),
    seller: doc.seller ? partyView(doc.seller, 'seller', viewerUscc) : null,
    coSellers: (doc.coSellers ?? []).filter(Boolean).map((p) => partyView(p, 'coSeller', viewerUscc)),
    buyers: (doc.buyers ?? []).map((p) => partyView(p, 'buyer', viewerUscc)),
    certificate: doc.status === 'registered' ? `/api/v1/related-contracts/${String(doc._id)}/certificate.pdf` : null,
  };
}

/** The same with labels in the page's language, for the pages. */
export function relatedView(doc: RelatedRecord, viewerUscc: string, lang: string) {
  const api = relatedToApi(doc, viewerUscc);
  const labelled = <P extends ReturnType<typeof partyView>>(p: P) => partyLabels(p, lang);
  const ended = endedAt(doc);
  return {
    ...api,
    endedAt: ended,
    registeredAtDate: doc.registeredAt ?? null,
    ...contractLabels(doc, lang),
    parties: [api.seller, ...api.coSellers, ...api.buyers].filter((p): p is NonNullable<typeof p> => p !== null).map(labelled),
  };
}
