/**
 * One validated, typed, frozen configuration built from environment variables.
 * A bad value stops start-up with a message naming the variable.
 */
import { z } from 'zod';
import { parseYuan } from './domain/money';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url().optional(),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\/.+/, 'must be a mongodb:// or mongodb+srv:// URI'),
  REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL'),
  QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('registry'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),
  TRUST_PROXY: z.string().optional(),
  SECURE_COOKIES: bool.optional(),
  BOOTSTRAP_ADMIN_EMAIL: z.email().default('admin@registry.local'),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  AGENCY_CODE: z.string().regex(/^\d{6}$/, 'must be a 6-digit administrative code').default('630100'),
  AGENCY_NAME_ZH: z.string().min(1).default('西宁市科学技术局'),
  AGENCY_NAME_EN: z.string().min(1).default('Xining Municipal Science and Technology Bureau'),
  /** What an applicant can do about a refusal or revocation (the usual remedies; set the bureau's own wording). */
  REMEDIES_TEXT_ZH: z
    .string()
    .min(1)
    .max(2000)
    .default('如对本决定不服，可以自知道该决定之日起六十日内依法申请行政复议，或者自知道该决定之日起六个月内依法向人民法院提起行政诉讼。'),
  REMEDIES_TEXT_EN: z
    .string()
    .min(1)
    .max(2000)
    .default('If you disagree with this decision, you may apply for administrative reconsideration within 60 days of learning of it, or bring an administrative lawsuit before a people’s court within 6 months of learning of it.'),
  /** Where people ask about registration, as the guide (/guide) says it: the bureau's desk, telephone, address, hours. */
  GUIDE_CONTACT_ZH: z.string().trim().min(1).max(500).default('请向本机构技术合同登记窗口咨询。'),
  GUIDE_CONTACT_EN: z.string().trim().min(1).max(500).default("Ask the agency's technology contract registration desk."),
  /** The licence of the open data (/open-data), as the page states it; unset: CC BY 4.0 naming the agency. */
  OPEN_DATA_LICENCE_ZH: z.string().trim().min(1).max(2000).optional(),
  OPEN_DATA_LICENCE_EN: z.string().trim().min(1).max(2000).optional(),
  TURNOVER_TARGET_YUAN: z
    .string()
    .regex(/^\d{1,13}(\.\d{1,2})?$/, 'must be an amount in yuan, e.g. 1000000000')
    .default('1000000000'),
  SMTP_URL: z.string().regex(/^smtps?:\/\/.+/, 'must be an smtp:// or smtps:// URL').optional(),
  MAIL_FROM: z.string().default('registry@localhost'),
  API_TOKEN_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(24),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(8),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100000).default(50),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** The worker's scheduling priority (nice, 0–19): background jobs give way to requests on a shared machine. */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(5),
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** Fault injection for tests and the fault script: verification pauses this long midway. */
  FAULT_VERIFY_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /** For the load script: where a process writes its count of database commands per route (off when unset). */
  DB_COMMAND_STATS_FILE: z.string().min(1).optional(),
  SSE_MAX_CLIENTS: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  /** Live streams one client address may hold (IPv6: one /64): high enough for an office behind one proxy. */
  SSE_MAX_CLIENTS_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(200),
  /** Bytes a live stream may leave unread before it is cut off (it reconnects and gets the current figure). */
  SSE_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(64 * 1024),
  SIGNUP_MAX_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(20),
  /** The longest wait after repeated failed sign-ins, and the window in which failures are counted. */
  LOGIN_BLOCK_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  /** The first wait once a sign-in limit is reached; it doubles each further time, up to LOGIN_BLOCK_MINUTES. */
  LOGIN_FIRST_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** How long an address remembers an account that signed in from it (exempt from the per-address limit). */
  LOGIN_KNOWN_ADDRESS_DAYS: z.coerce.number().int().min(1).max(365).default(30),
});

export type Env = z.input<typeof schema>;

export interface Config {
  env: 'development' | 'test' | 'production';
  isProduction: boolean;
  host: string;
  port: number;
  publicUrl: string;
  mongodbUri: string;
  redisUrl: string;
  queuePrefix: string;
  sessionSecret: string;
  logLevel: string;
  logPretty: boolean;
  trustProxy: string | undefined;
  secureCookies: boolean;
  bootstrapAdmin: { email: string; password: string | undefined };
  agency: { code: string; nameZh: string; nameEn: string };
  remedies: { zh: string; en: string };
  guideContact: { zh: string; en: string };
  /** The open data's licence statement, per language. */
  openDataLicence: { zh: string; en: string };
  turnoverTargetFen: number;
  smtpUrl: string | undefined;
  mailFrom: string;
  apiTokenTtlMs: number;
  sessionTtlMs: number;
  loginLimits: { perAccount: number; perIp: number; blockSeconds: number; firstDelaySeconds: number; knownAddressSeconds: number };
  worker: { concurrency: number; nice: number; lockMs: number; stalledIntervalMs: number; faultVerifyDelayMs: number };
  sseMaxClients: number;
  sseMaxClientsPerIp: number;
  sseMaxBufferedBytes: number;
  signupPerIpPerHour: number;
  dbCommandStatsFile: string | null;
}

export class ConfigError extends Error {}

/** Reads the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // Empty strings count as unset, as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  const target = parseYuan(e.TURNOVER_TARGET_YUAN);
  if (!target.ok || target.fen === 0) throw new ConfigError('Invalid configuration:\n  TURNOVER_TARGET_YUAN: must be a positive amount');
  return Object.freeze({
    env: e.NODE_ENV,
    isProduction,
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    mongodbUri: e.MONGODB_URI,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    sessionSecret: e.SESSION_SECRET,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY ?? e.NODE_ENV === 'development',
    trustProxy: e.TRUST_PROXY,
    secureCookies: e.SECURE_COOKIES ?? isProduction,
    bootstrapAdmin: Object.freeze({ email: e.BOOTSTRAP_ADMIN_EMAIL.toLowerCase(), password: e.BOOTSTRAP_ADMIN_PASSWORD }),
    agency: Object.freeze({ code: e.AGENCY_CODE, nameZh: e.AGENCY_NAME_ZH, nameEn: e.AGENCY_NAME_EN }),
    remedies: Object.freeze({ zh: e.REMEDIES_TEXT_ZH, en: e.REMEDIES_TEXT_EN }),
    guideContact: Object.freeze({ zh: e.GUIDE_CONTACT_ZH, en: e.GUIDE_CONTACT_EN }),
    openDataLicence: Object.freeze({
      zh:
        e.OPEN_DATA_LICENCE_ZH ??
        `本页数据以知识共享署名 4.0 国际许可协议（CC BY 4.0）发布：任何人均可复制、发布、改编和用于商业目的，但须注明来源“${e.AGENCY_NAME_ZH}技术合同登记系统”。协议全文：https://creativecommons.org/licenses/by/4.0/legalcode.zh-hans`,
      en:
        e.OPEN_DATA_LICENCE_EN ??
        `These data are published under the Creative Commons Attribution 4.0 International licence (CC BY 4.0): anyone may copy, publish, adapt and use them, also commercially, naming the source as "${e.AGENCY_NAME_EN}, technology contract registry". Full text: https://creativecommons.org/licenses/by/4.0/legalcode.en`,
    }),
    turnoverTargetFen: target.fen,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    apiTokenTtlMs: e.API_TOKEN_TTL_HOURS * 3600_000,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    sseMaxClients: e.SSE_MAX_CLIENTS,
    sseMaxClientsPerIp: e.SSE_MAX_CLIENTS_PER_IP,
    sseMaxBufferedBytes: e.SSE_MAX_BUFFERED_BYTES,
    dbCommandStatsFile: e.DB_COMMAND_STATS_FILE ?? null,
    signupPerIpPerHour: e.SIGNUP_MAX_PER_IP_PER_HOUR,
    worker: Object.freeze({
      concurrency: e.WORKER_CONCURRENCY,
      nice: e.WORKER_NICE,
      lockMs: e.WORKER_LOCK_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
      faultVerifyDelayMs: e.FAULT_VERIFY_DELAY_MS,
    }),
    loginLimits: Object.freeze({
      perAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perIp: e.LOGIN_MAX_FAILURES_PER_IP,
      blockSeconds: e.LOGIN_BLOCK_MINUTES * 60,
      firstDelaySeconds: e.LOGIN_FIRST_DELAY_SECONDS,
      knownAddressSeconds: e.LOGIN_KNOWN_ADDRESS_DAYS * 24 * 3600,
    }),
  });
}
