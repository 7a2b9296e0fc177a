/** Admin pages: the audit log (search, CSV), the mail outbox, overdue filings, the queue dashboard. */
import { Router } from 'express';
import type { AppDeps } from '../../lib/deps';
import { authorize } from '../../lib/http/authorize';
import { sendCsv } from '../../lib/http/csv';
import { listOrUnfiltered } from '../../lib/http/forms';
import { auditCsvRows, searchAudit } from '../audit/audit.service';
import { listOutbox } from '../notifications/notifications.service';
import { listOverdue } from '../review/queue.service';
import { listWorkers } from '../system/heartbeat.service';
import { lazy } from '../../lib/lazy';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

export function adminPages(deps: AppDeps): Router {
  const router = Router();
  const admin = authorize('bureau.admin');

  /** GET /admin/audit: every bureau action and bureau sign-in, searchable. */
  router.get('/admin/audit', admin, async (req, res) => {
    const { result, filterError } = await listOrUnfiltered(searchAudit, req.query);
    const q = result.query;
    res.render('admin/audit', {
      items: result.items,
      total: result.total,
      page: result.page,
      pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
      query: { action: q.action ?? '', actor: q.actor ?? '', from: q.from ?? '', to: q.to ?? '' },
      filterError: Boolean(filterError),
    });
  });

  /** GET /admin/audit.csv: the same search as CSV with Chinese headers (UTF-8 with BOM, for Excel). */
  router.get('/admin/audit.csv', admin, async (req, res) => {
    const rows = auditCsvRows(req.query);
    const first = await rows.next(); // validates the query before any byte is sent
    await sendCsv(res, 'audit-log.csv', (async function* () {
      if (!first.done) yield first.value;
      yield* rows;
    })());
  });

  /** GET /admin/outbox: mail kept locally because no SMTP server is configured. */
  router.get('/admin/outbox', admin, async (_req, res) => {
    res.render('admin/outbox', { mails: await listOutbox(), smtp: Boolean(deps.config.smtpUrl) });
  });

  /** GET /admin/overdue: open filings past their decision deadline, and the workers' heartbeat. */
  router.get('/admin/overdue', admin, async (_req, res) => {
    res.render('admin/overdue', { items: (await listOverdue()).map((c) => ({ ...c, id: String(c._id) })), workers: await listWorkers() });
  });

  // The BullMQ dashboard, for admins only.
  // Built at an admin's first visit: bull-board and its UI are not loaded by a web process nobody opens it in.
  const board = lazy(() => {
    const { createBullBoard } = require('@bull-board/api') as typeof import('@bull-board/api');
    const { BullMQAdapter } = require('@bull-board/api/bullMQAdapter') as typeof import('@bull-board/api/bullMQAdapter');
    const { ExpressAdapter } = require('@bull-board/express') as typeof import('@bull-board/express');
    const adapter = new ExpressAdapter();
    adapter.setBasePath(QUEUE_DASHBOARD_PATH);
    createBullBoard({
      queues: [deps.queues.maintenance, deps.queues.verification, deps.queues.certificates, deps.queues.notifications, deps.queues.imports].map((q) => new BullMQAdapter(q)),
      serverAdapter: adapter,
    });
    return adapter.getRouter() as import('express').RequestHandler;
  });
  // bull-board's UI sets inline styles (and asks for web fonts, which stay blocked: no CDN).
  const dashboardCsp: import('express').RequestHandler = (_req, res, next) => {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'self'; form-action 'self'",
    );
    next();
  };
  router.use(QUEUE_DASHBOARD_PATH, admin, dashboardCsp, (req, res, next) => board()(req, res, next));

  return router;
}
