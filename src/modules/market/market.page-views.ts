/** What the board's pages show of listings: labels in the page's language, the form's values and choices. */
import type { Response } from 'express';
import type { TFunction } from 'i18next';
import type { AppError } from '../../lib/errors';
import { translate } from '../../lib/http/errors';
import type { FormState } from '../../lib/http/forms';
import { codeOptions, IP_TYPES, PRIORITY_AREAS, TECHNICAL_FIELDS } from '../../domain/codes';
import { formatYuan } from '../../domain/money';
import { cstDateTime } from '../../domain/time';
import { effectiveStatus, LISTING_KINDS, type ListingDoc } from './listing.model';
import { listingLabels } from './market.views';

export const tOf = (res: Response) => res.locals.t as TFunction;
export const langOf = (res: Response) => res.locals.lang as string;

/** A listing as a page shows it (text escaped by the templates, never HTML). */
export function cardOf(doc: ListingDoc, organizationName: string, res: Response, now = new Date()) {
  const t = tOf(res);
  return {
    id: String(doc._id),
    kind: doc.kind,
    kindLabel: t(`market.kind_${doc.kind}`),
    title: doc.title,
    summary: doc.summary,
    /** The board's cards show the start of the summary (by code point, so no character is cut in half). */
    excerpt: [...doc.summary].length > 140 ? `${[...doc.summary].slice(0, 140).join('')}…` : doc.summary,
    organizationName,
    status: effectiveStatus(doc, now),
    rejectionReason: doc.status === 'rejected' ? (doc.rejectionReason ?? '') : '',
    submittedAt: cstDateTime(doc.submittedAt),
    history: (doc.history ?? []).map((h) => ({ at: cstDateTime(h.at), action: h.action, actor: h.actorName ?? '', note: h.note ?? '' })),
    ...listingLabels(doc, langOf(res), t('market.negotiable')),
  };
}
export type Card = ReturnType<typeof cardOf>;

/** The choices of the listing form and the board's filters. */
export function choices(res: Response) {
  const lang = langOf(res);
  const t = tOf(res);
  return {
    kinds: LISTING_KINDS.map((k) => ({ value: k, label: t(`market.kind_${k}`) })),
    fields: codeOptions(TECHNICAL_FIELDS, lang),
    areas: codeOptions(PRIORITY_AREAS, lang),
    ipTypes: codeOptions(IP_TYPES, lang),
  };
}

/** The listing form's fields, as the form names them (and the service's paths). */
export const LISTING_FORM_FIELDS = ['kind', 'title', 'summary', 'technicalField', 'priorityArea', 'ipType', 'priceHint'] as const;

/** A stored listing as the edit form's values. */
export function formValues(doc: ListingDoc, lang: string): Record<string, string> {
  return {
    kind: doc.kind,
    title: doc.title,
    summary: doc.summary,
    technicalField: doc.technicalField,
    priorityArea: doc.priorityArea ?? '',
    ipType: doc.ipType ?? '',
    priceHint: typeof doc.priceFen === 'number' ? formatYuan(doc.priceFen) : doc.priceNegotiable ? (lang === 'en' ? 'negotiable' : '面议') : '',
  };
}

/** The label of each form field, for the error summary ("标题：此项为必填项。"). */
const FIELD_LABELS: Record<string, string> = {
  kind: 'market.kind',
  title: 'market.listingTitle',
  summary: 'market.summary',
  technicalField: 'contracts.technicalField',
  priorityArea: 'contracts.priorityArea',
  ipType: 'contracts.ipType',
  priceHint: 'market.priceHint',
  message: 'market.message',
  expiryDays: 'market.expiryDays',
};

/** A refused form as the page shows it: each problem at its field, and in the summary with the field's name. */
export function formStateOf(res: Response, err: AppError, values: Record<string, string>): FormState {
  const t = tOf(res);
  const form: FormState = { values, errors: {}, summary: [], formMessage: null };
  for (const d of err.details) {
    const message = translate(t, d.message, d.params);
    form.errors[d.path] ??= message;
    const label = FIELD_LABELS[d.path];
    form.summary.push({ field: d.path, message, ...(label ? { label: t(label) } : {}) } as FormState['summary'][number]);
  }
  if (!err.details.length) form.formMessage = translate(t, err.messageKey, err.params);
  return form;
}

/** Renders `view` again with the refused form (status and Retry-After as the error says). */
export function renderRefusedForm(res: Response, view: string, err: AppError, values: Record<string, string>, locals: Record<string, unknown>): void {
  res.status(err.status);
  if (err.kind === 'RATE_LIMITED' && typeof err.extra?.retryAfter === 'number') res.set('Retry-After', String(err.extra.retryAfter));
  res.render(view, { ...locals, form: formStateOf(res, err, values) });
}
