/**
 * What each reader sees of a listing and an interest. The public sees the listing and the name
 * of the organisation behind it, never a contact detail or a person; the owner and the bureau
 * see its status and moderation; contact details appear only on an accepted interest, to its
 * two organisations.
 */
import { Types } from 'mongoose';
import { codeLabel, IP_TYPES, PRIORITY_AREAS, TECHNICAL_FIELDS } from '../../domain/codes';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import { cstDate, cstIso } from '../../domain/time';
import { User } from '../accounts/user.model';
import { Organization } from '../organizations/organization.model';
import { effectiveStatus, type InterestDoc, type ListingDoc } from './listing.model';

/** Organisation names by id, in one read. */
export async function organizationNames(ids: (Types.ObjectId | string | null | undefined)[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter(Boolean).map(String))].filter((id) => Types.ObjectId.isValid(id));
  if (!unique.length) return new Map();
  const orgs = await Organization.find({ _id: { $in: unique.map((id) => new Types.ObjectId(id)) } }).select({ name: 1 }).lean();
  return new Map(orgs.map((o) => [String(o._id), o.name]));
}

/** The price hint as the API writes it: "500000.00", "negotiable", or null. */
export function priceHintOf(doc: Pick<ListingDoc, 'priceFen' | 'priceNegotiable'>): string | null {
  if (typeof doc.priceFen === 'number') return formatYuan(doc.priceFen);
  return doc.priceNegotiable ? 'negotiable' : null;
}

/** A listing as anyone may see it on the board. */
export function publicListing(doc: ListingDoc, organizationName: string) {
  return {
    id: String(doc._id),
    kind: doc.kind,
    title: doc.title,
    summary: doc.summary,
    technicalField: doc.technicalField,
    priorityArea: doc.priorityArea ?? null,
    ipType: doc.ipType ?? null,
    priceHint: priceHintOf(doc),
    organizationName,
    publishedAt: doc.publishedAt ? cstIso(doc.publishedAt) : null,
    expiresAt: doc.expiresAt ? cstIso(doc.expiresAt) : null,
  };
}

/** A listing as its owner and the bureau see it: with its status, the bureau's reason and its history. */
export function fullListing(doc: ListingDoc, organizationName: string, now = new Date()) {
  return {
    ...publicListing(doc, organizationName),
    status: effectiveStatus(doc, now),
    organizationId: String(doc.organizationId),
    rejectionReason: doc.status === 'rejected' ? (doc.rejectionReason ?? null) : null,
    submittedAt: cstIso(doc.submittedAt),
    decidedAt: doc.decidedAt ? cstIso(doc.decidedAt) : null,
    closedAt: doc.closedAt ? cstIso(doc.closedAt) : null,
    createdAt: cstIso(doc.createdAt),
    updatedAt: cstIso(doc.updatedAt),
    history: (doc.history ?? []).map((h) => ({ at: cstIso(h.at), action: h.action, actor: h.actorName ?? null, note: h.note ?? null })),
  };
}

/** The labels a page shows for a listing's codes, in the page's language. */
export function listingLabels(doc: ListingDoc, lang: string, negotiable: string) {
  return {
    fieldLabel: codeLabel(TECHNICAL_FIELDS, doc.technicalField, lang),
    areaLabel: codeLabel(PRIORITY_AREAS, doc.priorityArea, lang),
    ipLabel: codeLabel(IP_TYPES, doc.ipType, lang),
    priceText: typeof doc.priceFen === 'number' ? `¥ ${formatYuanGrouped(doc.priceFen)}` : doc.priceNegotiable ? negotiable : '',
    publishedOn: doc.publishedAt ? cstDate(doc.publishedAt) : '',
    expiresOn: doc.expiresAt ? cstDate(doc.expiresAt) : '',
  };
}

export interface Contact {
  organizationName: string;
  contactPerson: string | null;
  phone: string | null;
  email: string | null;
}

/**
 * An organisation's contact details for the other side of an accepted interest: its profile's
 * contact person, phone and e-mail; where the profile has none, the name and e-mail of the
 * member who posted the listing or the interest (someone must be reachable).
 */
export async function contactOf(organizationId: Types.ObjectId | string, memberId: Types.ObjectId | string): Promise<Contact> {
  const [org, member] = await Promise.all([
    Organization.findById(organizationId).select({ name: 1, contact: 1 }).lean(),
    User.findById(memberId).select({ name: 1, email: 1 }).lean(),
  ]);
  const c = org?.contact;
  return {
    organizationName: org?.name ?? '',
    contactPerson: c?.contactPerson || member?.name || null,
    phone: c?.phone || null,
    email: c?.email || member?.email || null,
  };
}

/** An interest as the owner (`to: 'owner'`) or the interested organisation sees it; `contact` is the other side's, after acceptance only. */
export function interestView(i: InterestDoc, names: Map<string, string>, contact: Contact | null) {
  return {
    id: String(i._id),
    listingId: String(i.listingId),
    organizationName: names.get(String(i.organizationId)) ?? '',
    ownerOrganizationName: names.get(String(i.ownerOrganizationId)) ?? '',
    message: i.message,
    status: i.status,
    createdAt: cstIso(i.createdAt),
    decidedAt: i.decidedAt ? cstIso(i.decidedAt) : null,
    contact: i.status === 'accepted' ? contact : null,
  };
}
export type InterestView = ReturnType<typeof interestView>;
