/** The notifications pages: the applicant's (their organisation's) and the bureau's (by role). */
import { Router } from 'express';
import { authorize, requireUser } from '../../lib/http/authorize';
import { bureauUnreadCount, listBureauNotifications, listNotifications, markAllBureauRead, markAllRead } from './notifications.service';

const unreadBy = (userId: string) => (n: { readBy?: unknown[] | null }) => !(n.readBy ?? []).some((r) => String(r) === userId);

export function notificationsPages(): Router {
  const router = Router();
  /** GET /notifications: the organisation's notifications, newest first. */
  router.get('/notifications', authorize('notifications.own'), async (_req, res) => {
    const user = requireUser(res);
    const items = await listNotifications(user.organizationId!);
    res.render('notifications/index', { items: items.map((n) => ({ ...n, unread: unreadBy(user.id)(n) })) });
  });
  /** POST /notifications/read: marks them all read for me. */
  router.post('/notifications/read', authorize('notifications.own'), async (_req, res) => {
    const user = requireUser(res);
    await markAllRead(user.organizationId!, user.id);
    res.redirect(303, '/notifications');
  });
  /** GET /bureau/notifications: the notifications for my role at the bureau (new filings, deadlines), newest first. */
  router.get('/bureau/notifications', authorize('notifications.bureau'), async (_req, res) => {
    const user = requireUser(res);
    const [items, unread] = await Promise.all([listBureauNotifications(user.role), bureauUnreadCount(user.role, user.id)]);
    res.render('notifications/bureau', { items: items.map((n) => ({ ...n, unread: unreadBy(user.id)(n) })), unread });
  });
  /** POST /bureau/notifications/read: marks them all read for me. */
  router.post('/bureau/notifications/read', authorize('notifications.bureau'), async (_req, res) => {
    const user = requireUser(res);
    await markAllBureauRead(user.role, user.id);
    res.redirect(303, '/bureau/notifications');
  });
  return router;
}
