/**
 * What the board accepts, checked at the edge (one zod schema per input). Texts are trimmed,
 * bounded and free of control characters (and of the bidirectional overrides that make text
 * read other than it is stored); pages escape them (EJS `<%=`), never render them as HTML.
 */
import { z } from 'zod';
import { IP_TYPES, keysOf, PRIORITY_AREAS, TECHNICAL_FIELDS } from '../../domain/codes';
import { parseYuan } from '../../domain/money';
import { LISTING_KINDS } from './listing.model';

export const LIMITS = { title: 100, summary: 2000, message: 1000, reason: 500, query: 100 } as const;

/** C0 and C1 control characters (but tab, line feed and carriage return), DEL, and bidi overrides and isolates. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
const CONTROL_OR_BREAK = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

/** One line of text: a title. */
export const lineText = (max: number) =>
  z.string().trim().min(1).max(max).refine((s) => !CONTROL_OR_BREAK.test(s), { message: 'validation.controlChars' });

/** Text with line breaks (kept as `\n`): a summary, a message, a reason. */
export const blockText = (max: number) =>
  z
    .string()
    .transform((s) => s.replace(/\r\n?/g, '\n'))
    .pipe(z.string().trim().min(1).max(max).refine((s) => !CONTROL.test(s), { message: 'validation.controlChars' }));

/** A code of `list`, or nothing: absent stays absent (undefined), while null and "" clear it (null). */
const optionalCode = <T extends Record<string, unknown>>(list: T) =>
  z.union([z.enum(keysOf(list)), z.literal(''), z.null()]).optional().transform((v) => (v === undefined ? undefined : v || null));

/** The price hint as stored: an amount in fen, or negotiable (面议), or none. */
export interface PriceHint {
  priceFen: number | null;
  priceNegotiable: boolean;
}
const NEGOTIABLE = new Set(['negotiable', '面议', '价格面议']);

/**
 * `priceHint`: an amount in yuan (the API's money rules; the form may group thousands), or the
 * word "negotiable" (面议); null or "" for none. Anything else, such as "50万起", is refused:
 * free text here would be a second summary.
 */
export const priceHintField = (grouped: boolean) =>
  z
    .union([z.string(), z.number(), z.null()])
    .optional()
    .transform((v, ctx): PriceHint | undefined => {
      if (v === undefined) return undefined;
      if (v === null || (typeof v === 'string' && !v.trim())) return { priceFen: null, priceNegotiable: false };
      if (typeof v === 'string' && NEGOTIABLE.has(v.trim().toLowerCase())) return { priceFen: null, priceNegotiable: true };
      const p = parseYuan(v, { grouped });
      if (p.ok && p.fen > 0) return { priceFen: p.fen, priceNegotiable: false };
      ctx.issues.push({ code: 'custom', message: 'validation.priceHint', input: v });
      return z.NEVER;
    });

const contactVisible = z
  .union([z.literal(false), z.literal(true)])
  .optional()
  .refine((v) => v !== true, { message: 'validation.contactNotPublic' });

const listingShape = (grouped: boolean) => ({
  kind: z.enum(LISTING_KINDS),
  title: lineText(LIMITS.title),
  summary: blockText(LIMITS.summary),
  technicalField: z.enum(keysOf(TECHNICAL_FIELDS)),
  priorityArea: optionalCode(PRIORITY_AREAS),
  ipType: optionalCode(IP_TYPES),
  priceHint: priceHintField(grouped),
  /** Contact details never go on the board (they are exchanged when the owner accepts an interest): only false is accepted. */
  contactVisible,
});

/** A new listing (API and form). */
export const newListingSchema = (grouped = false) => z.object(listingShape(grouped));
/** An edit: the fields given replace the stored ones (null clears an optional one). */
export const listingPatchSchema = (grouped = false) => z.object(listingShape(grouped)).partial();

export type NewListing = z.output<ReturnType<typeof newListingSchema>>;
export type ListingPatch = z.output<ReturnType<typeof listingPatchSchema>>;

const emptyToUndefined = z.literal('').transform(() => undefined);

/** The public board's query. */
export const boardQuerySchema = z.object({
  kind: z.enum(LISTING_KINDS).optional().or(emptyToUndefined),
  q: z.string().trim().max(LIMITS.query).optional(),
  technicalField: z.enum(keysOf(TECHNICAL_FIELDS)).optional().or(emptyToUndefined),
  priorityArea: z.enum(keysOf(PRIORITY_AREAS)).optional().or(emptyToUndefined),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type BoardQuery = z.output<typeof boardQuerySchema>;

export const pageQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});

export const interestSchema = z.object({ message: blockText(LIMITS.message) });
export const rejectSchema = z.object({ reason: blockText(LIMITS.reason) });

/** The bureau's settings: how long a published listing stays on the board. */
export const EXPIRY_DAYS = { default: 180, min: 7, max: 730 } as const;
export const settingsSchema = z.object({ expiryDays: z.coerce.number().int().min(EXPIRY_DAYS.min).max(EXPIRY_DAYS.max) });

/** Which accepted interest a contract is started from (the owner names it when there are several). */
export const fromListingSchema = z.object({
  fromListing: z.string().trim().regex(/^[0-9a-f]{24}$/i),
  interest: z.string().trim().regex(/^[0-9a-f]{24}$/i).optional(),
});

/** Lower-cased title and summary: what `q` matches, as a plain substring. */
export const searchTextOf = (title: string, summary: string) => `${title}\n${summary}`.toLowerCase();
