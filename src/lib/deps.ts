/** What the web app is built from: created by the entry point, passed down explicitly. */
import type { i18n } from 'i18next';
import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from './logger';
import type { Queues } from './queues';
import type { TurnoverHub } from '../modules/turnover/live';

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  /** Fail-fast Redis connection for requests, sessions and producers. */
  redis: Redis;
  queues: Queues;
  /** The live turnover figure (subscribed by the entry point; see modules/turnover/live.ts). */
  turnover: TurnoverHub;
  i18n?: i18n;
}
