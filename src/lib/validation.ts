/**
 * Input validation with zod at the edge. Every zod message is an i18n key, so the same
 * schema serves the API (translated details) and the pages (errors beside the fields).
 */
import { z } from 'zod';
import { AppError, type ErrorDetail } from './errors';

z.config({
  customError: (iss) => {
    switch (iss.code) {
      case 'invalid_type':
        return iss.input === undefined || iss.input === null || iss.input === '' ? 'validation.required' : 'validation.invalidType';
      case 'too_small':
        if (iss.origin === 'string') return Number(iss.minimum) <= 1 ? 'validation.required' : 'validation.tooShort';
        if (iss.origin === 'array') return Number(iss.minimum) <= 1 ? 'validation.required' : 'validation.tooFew';
        return 'validation.tooSmall';
      case 'too_big':
        return iss.origin === 'string' ? 'validation.tooLong' : iss.origin === 'array' ? 'validation.tooMany' : 'validation.tooLarge';
      case 'invalid_format':
        return iss.format === 'email' ? 'validation.email' : 'validation.format';
      case 'invalid_value':
        return 'validation.choice';
      default:
        return 'validation.invalid';
    }
  },
});

export function issuesToDetails(issues: readonly z.core.$ZodIssue[], prefix = ''): ErrorDetail[] {
  return issues.map((iss) => {
    const params: Record<string, unknown> = {};
    if ('minimum' in iss) params.min = Number(iss.minimum);
    if ('maximum' in iss) params.max = Number(iss.maximum);
    const path = [prefix, ...iss.path.map(String)].filter(Boolean).join('.');
    return { path, message: iss.message.startsWith('validation.') ? iss.message : 'validation.invalid', params };
  });
}

/** Parses input with a schema or throws a 422 listing every problem at once. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const res = schema.safeParse(input);
  if (!res.success) throw new AppError('VALIDATION_FAILED', { details: issuesToDetails(res.error.issues) });
  return res.data;
}

/** Text searched for as typed: regular-expression characters lose their meaning. */
export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A trimmed, bounded single-line text. */
export const text = (max: number) => z.string().trim().min(1).max(max);
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => (v ? v : undefined));
export const email = () => z.string().trim().toLowerCase().max(254).pipe(z.email());
/** Form checkboxes arrive as "on"/"true"/"1"; JSON as booleans. */
export const checkbox = () =>
  z
    .union([z.boolean(), z.enum(['on', 'true', '1', 'yes'])])
    .optional()
    .transform((v) => v === true || v === 'on' || v === 'true' || v === '1' || v === 'yes');
