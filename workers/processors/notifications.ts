/** The notifications queue: mails a notification once; failures are retried with backoff. */
import type { Job } from 'bullmq';
import { sendNotificationMail, type Mailer } from '../../src/modules/notifications/notifications.service';

export function notificationProcessor(mailer: Mailer) {
  return async (job: Job<{ notificationId: string }>) => ({ result: await sendNotificationMail(mailer, job.data.notificationId) });
}
