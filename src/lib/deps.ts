/** What the web app is built from: created by the entry point, passed down explicitly. */
import type { i18n } from 'i18next';
import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from './logger';
import type { Queues } from './queues';

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  /** Fail-fast Redis connection for requests, sessions and producers. */
  redis: Redis;
  queues: Queues;
  i18n?: i18n;
}
