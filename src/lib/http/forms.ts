/**
 * Re-showing a form after a refused submission: errors beside their fields, a summary at
 * the top, and everything the person typed kept (except passwords).
 */
import type { Response } from 'express';
import type { TFunction } from 'i18next';
import { AppError } from '../errors';
import { translate } from './errors';

export interface FormState {
  values: Record<string, unknown>;
  errors: Record<string, string>;
  summary: { field: string; message: string }[];
  formMessage: string | null;
}

export function emptyForm(values: Record<string, unknown> = {}): FormState {
  return { values, errors: {}, summary: [], formMessage: null };
}

/** Only these errors are the person's to fix on the form; others go to the error handler. */
export function isFormError(err: unknown): err is AppError {
  return err instanceof AppError && ['VALIDATION_FAILED', 'CONFLICT', 'RATE_LIMITED', 'UNAUTHENTICATED'].includes(err.kind);
}

/**
 * Renders `view` again with the error. `fieldFor` maps a service path ("admin.email") to
 * the form's field name ("adminEmail").
 */
export function renderFormError(
  res: Response,
  view: string,
  err: AppError,
  values: Record<string, unknown>,
  locals: Record<string, unknown> = {},
  fieldFor: (path: string) => string = (p) => p,
): void {
  const t = res.locals.t as TFunction;
  const errors: Record<string, string> = {};
  const summary: FormState['summary'] = [];
  for (const d of err.details) {
    const field = fieldFor(d.path);
    const message = translate(t, d.message, d.params);
    if (!errors[field]) errors[field] = message;
    summary.push({ field, message });
  }
  const form: FormState = {
    values: stripSecrets(values),
    errors,
    summary,
    formMessage: summary.length ? null : translate(t, err.messageKey, err.params),
  };
  res.status(err.status);
  if (err.kind === 'RATE_LIMITED' && typeof err.extra?.retryAfter === 'number') res.set('Retry-After', String(err.extra.retryAfter));
  res.render(view, { ...locals, form });
}

function stripSecrets(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => !/password|_csrf/i.test(k)));
}

/** Picks the named string fields of a form body (anything else, or any non-string, is dropped). */
export function pickFields(body: unknown, fields: readonly string[]): Record<string, string> {
  const src = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = Object.prototype.hasOwnProperty.call(src, f) ? src[f] : undefined;
    if (typeof v === 'string') out[f] = v;
  }
  return out;
}

/** One-time messages shown on the next page, kept in the session. */
export function flash(req: { session?: unknown }, kind: 'success' | 'info' | 'error', message: string): void {
  const s = req.session as { flash?: { kind: string; message: string }[] } | undefined;
  if (!s) return;
  s.flash = [...(s.flash ?? []), { kind, message }];
}

/**
 * Runs a page's list query. A bad filter in the URL shows the unfiltered list with a note
 * (the error) instead of an error page.
 */
export async function listOrUnfiltered<T>(run: (query: unknown) => Promise<T>, query: unknown): Promise<{ result: T; filterError: AppError | null }> {
  try {
    return { result: await run(query), filterError: null };
  } catch (err) {
    if (!(err instanceof AppError) || err.kind !== 'VALIDATION_FAILED') throw err;
    return { result: await run({}), filterError: err };
  }
}
