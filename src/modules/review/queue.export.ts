/** The review queue as Excel or CSV: every row the page's filters select, not just one page. */
import { Router, type Response } from 'express';
import type { TFunction } from 'i18next';
import { codeLabel, CONTRACT_TYPES } from '../../domain/codes';
import { cstDateTime, cstYear } from '../../domain/time';
import { AppError } from '../../lib/errors';
import { authorize } from '../../lib/http/authorize';
import { EXPORT_MAX_ROWS, sendSheet, sheetTitle, type SheetSpec } from '../../lib/http/xlsx';
import { allQueueRows } from './queue.service';

export function queueExportRoutes(): Router {
  const router = Router();

  /** GET /review/export.xlsx|csv?status=&type=&deadline=&kind=&findings=&minAmount=&maxAmount=&q=: the queue as filtered on /review. */
  router.get('/review/export.:format', authorize('contracts.review'), async (req, res: Response) => {
    const format = req.params.format as string;
    if (format !== 'xlsx' && format !== 'csv') throw new AppError('NOT_FOUND');
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const { items, total } = await allQueueRows(req.query, EXPORT_MAX_ROWS);
    const now = new Date();
    const spec: SheetSpec = {
      name: t('lists.queueSheet'),
      title: sheetTitle(t, t('lists.queueSheet'), cstYear(now), total, items.length, now),
      columns: [
        { header: t('review.deadline') },
        { header: t('lists.workingDaysLeft'), kind: 'count' },
        { header: t('lists.kind') },
        { header: t('contracts.title') },
        { header: t('contracts.registrationNumber') },
        { header: t('contracts.seller') },
        { header: t('contracts.type') },
        { header: t('contracts.contractAmount'), kind: 'money' },
        { header: t('contracts.technicalAmount'), kind: 'money' },
        { header: t('lists.submittedAt') },
        { header: t('review.expert') },
        { header: t('lists.problems'), kind: 'count' },
        { header: t('lists.warnings'), kind: 'count' },
        { header: t('contracts.status') },
      ],
      rows: items.map((c) => [
        c.decisionDeadline ?? '',
        // Days left only where a decision is still open; an overdue one has none left.
        c.workingDaysLeft === null ? null : Math.max(0, c.workingDaysLeft),
        t(`requests.queueKind_${c.kind}`),
        c.title ?? '',
        c.registrationNumber ?? '',
        c.seller?.name ?? '',
        codeLabel(CONTRACT_TYPES, c.type, lang),
        c.contractAmountFen ?? null,
        c.technicalAmountFen ?? null,
        c.submittedAt ? cstDateTime(new Date(c.submittedAt)) : '',
        c.expertReview ? t('lists.yes') : '',
        (c.findings ?? []).filter((f) => f.severity === 'error').length,
        (c.findings ?? []).filter((f) => f.severity === 'warning').length,
        t(`status.${c.status}`),
      ]),
      totals: { label: (n) => t('lists.totals', { count: n }), derive: () => ({ 1: null, 11: null, 12: null }) },
    };
    await sendSheet(res, format, `review-queue-${cstDateTime(now).slice(0, 10)}`, spec);
  });

  return router;
}
