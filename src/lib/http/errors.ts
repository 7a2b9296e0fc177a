/**
 * The one error handler of the web app: the API error shape under /api, an error page
 * for browsers. Never a stack trace to a client; server errors are logged with a reference.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { TFunction } from 'i18next';
import { AppError, toAppError } from '../errors';
import type { Logger } from '../logger';

/** body-parser and multer signal problems with a `type` or `code`; map them to our kinds. */
function fromParserError(err: unknown): AppError | null {
  if (err instanceof AppError) return null;
  const e = err as { type?: string; status?: number; code?: string };
  switch (e?.type) {
    case 'entity.parse.failed':
      return new AppError('BAD_REQUEST', { code: 'MALFORMED_BODY', cause: err });
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', { cause: err });
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', { cause: err });
    case 'parameters.too.many':
    case 'request.size.invalid':
    case 'request.aborted':
      return new AppError('BAD_REQUEST', { cause: err });
  }
  // busboy (under multer) throws plain errors for broken multipart bodies.
  if (err instanceof Error && /Malformed (part )?header|Unexpected end of (form|multipart data)|Boundary not found|Part terminated early|Malformed urlencoded form/i.test(err.message)) {
    return new AppError('BAD_REQUEST', { code: 'MALFORMED_MULTIPART', cause: err });
  }
  if (e?.code === 'EBADCSRFTOKEN') return new AppError('FORBIDDEN', { code: 'CSRF_INVALID', messageKey: 'errors.csrf', cause: err });
  if (e?.code === 'LIMIT_FILE_SIZE') return new AppError('PAYLOAD_TOO_LARGE', { code: 'FILE_TOO_LARGE', cause: err });
  if (typeof e?.code === 'string' && e.code.startsWith('LIMIT_')) return new AppError('BAD_REQUEST', { code: e.code, cause: err });
  // Multer's other refusals (a part without a field name, a name that cannot be a field).
  if (err instanceof Error && err.name === 'MulterError' && typeof e?.code === 'string') return new AppError('BAD_REQUEST', { code: e.code, cause: err });
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.status !== 404) {
    return new AppError('BAD_REQUEST', { cause: err });
  }
  return null;
}

export const isApiRequest = (url: string) => url === '/api' || url.startsWith('/api/');

/** Translates a message key (plain text passes through unchanged). */
export function translate(t: TFunction | undefined, key: string, params?: Record<string, unknown>): string {
  return t ? String(t(key, { ...params, defaultValue: key })) : key;
}

export function translateDetails(err: AppError, t: TFunction | undefined) {
  return err.details.map((d) => ({ path: d.path, message: translate(t, d.message, d.params) }));
}

export function apiErrorBody(err: AppError, t: TFunction | undefined) {
  return {
    error: {
      code: err.kind,
      ...(err.code !== err.kind ? { reason: err.code } : {}),
      message: translate(t, err.messageKey, err.params),
      details: translateDetails(err, t),
      ...err.extra,
    },
  };
}

export function notFoundHandler(): RequestHandler {
  return (_req, _res, next) => next(new AppError('NOT_FOUND'));
}

/**
 * Nothing reaches Express's own handler (which prints stack traces outside production): an
 * error in this handler itself, or while rendering the error page, ends in plain text.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  const handle = handleError(logger);
  return (err, req, res, next) => {
    try {
      handle(err, req, res, next);
    } catch (failure) {
      logger.error({ err: failure, reqId: (req as { id?: unknown }).id }, 'error handler failed');
      plainTextError(res, 500);
    }
  };
}

/** The last resort: a status and a line of text, never details. */
function plainTextError(res: Parameters<ErrorRequestHandler>[2], status: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).type('text/plain; charset=utf-8').send(status >= 500 ? `${status} 服务器内部错误 / Internal error` : `${status}`);
}

function handleError(logger: Logger): ErrorRequestHandler {
  return (err, req, res) => {
    const appErr = fromParserError(err) ?? toAppError(err);
    const reference = (req as { id?: unknown }).id;
    if (appErr.status >= 500) {
      logger.error({ err: appErr.cause ?? err, reqId: reference, code: appErr.code }, 'request failed');
    }
    // Part of the answer is out already: cut the connection (a truncated body must not look whole).
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const t = res.locals.t as TFunction | undefined;
    res.status(appErr.status);
    if (appErr.kind === 'UNAVAILABLE') res.set('Retry-After', '5');
    if (appErr.kind === 'RATE_LIMITED' && typeof appErr.extra?.retryAfter === 'number') res.set('Retry-After', String(appErr.extra.retryAfter));
    if (isApiRequest(req.originalUrl)) {
      res.json(apiErrorBody(appErr, t));
      return;
    }
    // People who are not signed in go to the sign-in page and come back afterwards.
    if (appErr.kind === 'UNAUTHENTICATED' && req.method === 'GET') {
      res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    if (appErr.code === 'PASSWORD_CHANGE_REQUIRED' && req.method === 'GET') {
      res.redirect(303, '/account/password');
      return;
    }
    res.render(
      'error',
      {
        status: appErr.status,
        message: translate(t, appErr.messageKey, appErr.params),
        details: translateDetails(appErr, t),
        reference: appErr.status >= 500 ? String(reference ?? '') : '',
      },
      (renderErr: Error | null, html?: string) => {
        if (renderErr) {
          logger.error({ err: renderErr, reqId: reference }, 'error page failed to render');
          plainTextError(res, appErr.status);
          return;
        }
        res.send(html);
      },
    );
  };
}
