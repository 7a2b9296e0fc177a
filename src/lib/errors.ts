/**
 * One error type for the whole registry. Services throw AppErrors with a domain code
 * (`CONTRACT_NOT_EDITABLE`); the HTTP layer maps the code's kind to a status.
 */

/** The kinds of failure the API reports, with their status codes (API.md). */
export const ERROR_KINDS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

export interface ErrorDetail {
  path: string;
  /** An i18n key (translated when the error is shown) or plain text. */
  message: string;
  params?: Record<string, unknown>;
}

export interface AppErrorOptions {
  /** Domain code, e.g. CONTRACT_NOT_EDITABLE; defaults to the kind. */
  code?: string;
  /** i18n key of the message shown to people; the kind's generic message when absent. */
  messageKey?: string;
  params?: Record<string, unknown>;
  details?: ErrorDetail[];
  cause?: unknown;
  /** Extra fields added to the API error body (e.g. the current state after a 409). */
  extra?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly messageKey: string;
  readonly params: Record<string, unknown>;
  readonly details: ErrorDetail[];
  readonly extra: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, opts: AppErrorOptions = {}) {
    super(opts.code ?? kind, { cause: opts.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.code = opts.code ?? kind;
    this.messageKey = opts.messageKey ?? `errors.${kind}`;
    this.params = opts.params ?? {};
    this.details = opts.details ?? [];
    this.extra = opts.extra;
  }

  get status(): number {
    return ERROR_KINDS[this.kind];
  }
}

export const notFound = (code = 'NOT_FOUND') => new AppError('NOT_FOUND', { code });
export const conflict = (code: string, messageKey?: string, extra?: Record<string, unknown>) =>
  new AppError('CONFLICT', { code, messageKey, extra });

const UNAVAILABLE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MaxRetriesPerRequestError',
]);

/**
 * Errors meaning a backing service (database, Redis) is unreachable: the request should
 * answer 503 rather than 500, so clients know to retry.
 */
export function isUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (UNAVAILABLE_NAMES.has(err.name)) return true;
  const msg = err.message;
  return (
    /enableOfflineQueue options is false/.test(msg) ||
    /Connection is closed/.test(msg) ||
    /ECONNREFUSED/.test(msg) ||
    /buffering timed out/.test(msg) ||
    /Client must be connected/.test(msg)
  );
}

/** Maps any thrown value to an AppError (unknown errors become INTERNAL). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isUnavailableError(err)) return new AppError('UNAVAILABLE', { cause: err });
  return new AppError('INTERNAL', { cause: err });
}

/** A write refused by a unique index (MongoDB's and FerretDB's code 11000). */
export const isDuplicateKey = (err: unknown): boolean => (err as { code?: number } | null)?.code === 11000;
