/**
 * The contract list as Excel or CSV, with the filters of the list page: an applicant's own
 * organisation's contracts only, the bureau's all.
 */
import { Router } from 'express';
import type { TFunction } from 'i18next';
import { Types } from 'mongoose';
import { codeLabel, CONTRACT_TYPES, TECHNICAL_FIELDS } from '../../domain/codes';
import { cstDate, cstDateTime, cstYear } from '../../domain/time';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { EXPORT_MAX_ROWS, sendSheet, sheetTitle, type SheetSpec } from '../../lib/http/xlsx';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { Contract, type ContractDoc } from './contract.model';
import { listQuerySchema, textFilter } from './contracts.service';

/** The filter of the list page (listContracts): an applicant is held to their organisation whatever the query says. */
export function contractExportFilter(user: CurrentUser, rawQuery: unknown) {
  const q = parseInput(listQuerySchema, rawQuery);
  const filter: Record<string, unknown> = {};
  if (user.role === 'applicant') {
    if (!user.organizationId) throw new AppError('FORBIDDEN');
    filter.organizationId = new Types.ObjectId(user.organizationId);
  }
  if (q.status) filter.status = q.status;
  if (q.year) filter.signedYear = q.year;
  if (q.q) Object.assign(filter, textFilter(q.q, 'private'));
  return { filter, query: q };
}

const FIELDS = {
  title: 1, contractNumber: 1, registrationNumber: 1, type: 1, technicalField: 1, 'seller.name': 1, 'buyers.name': 1,
  contractAmountFen: 1, technicalAmountFen: 1, signedOn: 1, status: 1, registeredAt: 1, updatedAt: 1,
} as const;

export function contractListExportRoutes(): Router {
  const router = Router();

  /** GET /contracts/export.xlsx|csv?q=&status=&year=: the list as filtered on /contracts (newest change first). */
  router.get('/contracts/export.:format', authorize('contracts.read'), async (req, res) => {
    const format = req.params.format as string;
    if (format !== 'xlsx' && format !== 'csv') throw new AppError('NOT_FOUND');
    const user = requireUser(res);
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const { filter, query } = contractExportFilter(user, req.query);
    const [docs, total] = await Promise.all([
      Contract.find(filter).sort({ updatedAt: -1, _id: -1 }).limit(EXPORT_MAX_ROWS).select(FIELDS).lean() as Promise<ContractDoc[]>,
      Contract.countDocuments(filter),
    ]);
    const now = new Date();
    const spec: SheetSpec = {
      name: t('lists.contractsSheet'),
      title: sheetTitle(t, t('lists.contractsSheet'), query.year ?? cstYear(now), total, docs.length, now),
      columns: [
        { header: t('contracts.title') },
        { header: t('contracts.contractNumber') },
        { header: t('contracts.registrationNumber') },
        { header: t('contracts.type') },
        { header: t('contracts.technicalField') },
        { header: t('contracts.seller') },
        { header: t('verify.buyers') },
        { header: t('contracts.contractAmount'), kind: 'money' },
        { header: t('contracts.technicalAmount'), kind: 'money' },
        { header: t('contracts.signedOn') },
        { header: t('contracts.status') },
        { header: t('verify.registeredOn') },
        { header: t('contracts.updatedAt') },
      ],
      rows: docs.map((c) => [
        c.title || t('contracts.untitled'),
        c.contractNumber ?? '',
        c.registrationNumber ?? '',
        codeLabel(CONTRACT_TYPES, c.type, lang),
        codeLabel(TECHNICAL_FIELDS, c.technicalField, lang),
        c.seller?.name ?? '',
        (c.buyers ?? []).map((b) => b.name ?? '').filter(Boolean).join('；'),
        typeof c.contractAmountFen === 'number' ? c.contractAmountFen : null,
        typeof c.technicalAmountFen === 'number' ? c.technicalAmountFen : null,
        c.signedOn ?? '',
        t(`status.${c.status}`),
        c.registeredAt ? cstDate(c.registeredAt) : '',
        c.updatedAt ? cstDateTime(c.updatedAt) : '',
      ]),
      totals: { label: (n) => t('lists.totals', { count: n }) },
    };
    await sendSheet(res, format, `contracts-${cstDateTime(now).slice(0, 10)}`, spec);
  });

  return router;
}
