/** RFC 4180 CSV: pure encoding helpers for the usage export. */

export const CSV_LINE_END = '\r\n';

const NEEDS_QUOTES = /[",\r\n]/;

/** A spreadsheet reads a cell starting with one of these as a formula (OWASP's list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One field: quoted when it holds a comma, a double quote, CR or LF, with inner quotes doubled.
 * Text that a spreadsheet would run as a formula (`=cmd|' /C calc'!A0`) gets a leading `'`
 * (OWASP's rule against CSV injection); numbers are written as they are. null and undefined are
 * empty fields.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? String(value) : value.replace(FORMULA_START, "'$&");
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRow(fields: (string | number | null | undefined)[]): string {
  return fields.map(csvField).join(',') + CSV_LINE_END;
}

/** The export's columns, in order. */
export const EVENT_CSV_COLUMNS = [
  'id',
  'type',
  'time',
  'subject',
  'apiKeyId',
  'value',
  'data',
  'receivedAt',
] as const;

/** An event as the export reads it (times already formatted as ISO-8601 UTC by Postgres). */
export interface EventExportRow {
  id: string;
  type: string;
  time: string;
  subject: string | null;
  apiKeyId: string | null;
  value: number | null;
  data: Record<string, unknown>;
  receivedAt: string;
}

export const EVENT_CSV_HEADER = csvRow([...EVENT_CSV_COLUMNS]);

/** One event as a CSV record; `data` as compact JSON. */
export function eventCsvRow(row: EventExportRow): string {
  return csvRow([
    row.id,
    row.type,
    row.time,
    row.subject,
    row.apiKeyId,
    row.value,
    JSON.stringify(row.data),
    row.receivedAt,
  ]);
}
