import { ValidateBy } from 'class-validator';

/**
 * The one parser of instants in requests: ISO-8601 date-times with an explicit zone (`Z` or
 * ±hh:mm), and, where a caller allows it, plain dates taken as UTC midnight. Checked field by
 * field, because `Date.parse` accepts impossible dates (31 February) and reads a zone-less
 * date-time in the process's own zone.
 */
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2})))?$/;

/** Postgres has no year 0 and JavaScript prints years past 9999 oddly. */
const MIN_YEAR = 1970;
const MAX_YEAR = 9998;

export const INSTANT_RULE =
  'an ISO-8601 date-time with a time zone (Z or ±hh:mm), in the years 1970 to 9998';
export const INSTANT_OR_DATE_RULE =
  'an ISO-8601 date-time with a time zone (Z or ±hh:mm), or a date (UTC midnight), in the years 1970 to 9998';

/** The instant `text` names, or null when it is not one we accept. */
export function parseInstant(text: unknown, options: { allowDate?: boolean } = {}): Date | null {
  if (typeof text !== 'string') return null;
  const m = INSTANT.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi = '0', s = '0', zone, oh = '0', om = '0'] = m;
  if (h === undefined && !options.allowDate) return null;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12) return null;
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (Number(h ?? 0) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  if (zone && zone !== 'Z' && (Number(oh) > 23 || Number(om) > 59)) return null;
  // Date.parse reads a date-only string as UTC and honours an explicit zone: the cases left.
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** class-validator rule for an instant in a request (see parseInstant). */
export const IsInstant = (options: { allowDate?: boolean } = {}) =>
  ValidateBy({
    name: 'isInstant',
    validator: {
      validate: (value: unknown) => parseInstant(value, options) !== null,
      defaultMessage: (args) =>
        `${args?.property} must be ${options.allowDate ? INSTANT_OR_DATE_RULE : INSTANT_RULE}`,
    },
  });
