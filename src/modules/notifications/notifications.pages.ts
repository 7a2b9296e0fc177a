/** The applicant's notifications. */
import { Router } from 'express';
import { authorize, requireUser } from '../../lib/http/authorize';
import { listNotifications, markAllRead } from './notifications.service';

export function notificationsPages(): Router {
  const router = Router();
  /** GET /notifications: the organisation's notifications, newest first. */
  router.get('/notifications', authorize('notifications.own'), async (_req, res) => {
    const user = requireUser(res);
    const items = await listNotifications(user.organizationId!);
    res.render('notifications/index', { items: items.map((n) => ({ ...n, unread: !(n.readBy ?? []).some((r) => String(r) === user.id) })) });
  });
  /** POST /notifications/read: marks them all read for me. */
  router.post('/notifications/read', authorize('notifications.own'), async (_req, res) => {
    const user = requireUser(res);
    await markAllRead(user.organizationId!, user.id);
    res.redirect(303, '/notifications');
  });
  return router;
}
