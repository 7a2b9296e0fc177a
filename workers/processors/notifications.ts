/** The notifications queue: mails a notification once; failures are retried with backoff. */
import { DelayedError, type Job } from 'bullmq';
import { sendNotificationMail, type Mailer } from '../../src/modules/notifications/notifications.service';

/** How long a digest's mail job waits again when it ran before the digest's window closed. */
const NOT_DUE_WAIT_MS = 60_000;

export function notificationProcessor(mailer: Mailer) {
  return async (job: Job<{ notificationId: string }>, token?: string) => {
    const result = await sendNotificationMail(mailer, job.data.notificationId);
    if (result === 'not_due' && token) {
      // A digest still collecting (the job ran early, e.g. enqueued by the sweeper): wait, not fail.
      await job.moveToDelayed(Date.now() + NOT_DUE_WAIT_MS, token);
      throw new DelayedError();
    }
    return { result };
  };
}
