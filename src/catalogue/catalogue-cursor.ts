import { BadRequestException } from '@nestjs/common';
import { METER_SLUG, PLAN_CODE } from './catalogue.types';

/**
 * Page cursors of the catalogue lists, which are ordered by natural keys (meter slug; plan base
 * fee then code) rather than by (createdAt, id) like the org-owned lists.
 */

const invalidCursor = () =>
  new BadRequestException({ code: 'invalid_cursor', message: 'cursor is not valid' });

const encode = (text: string) => Buffer.from(text).toString('base64url');
const decode = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

export const encodeMeterCursor = (slug: string): string => encode(slug);

export function decodeMeterCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const slug = decode(cursor);
  if (!METER_SLUG.test(slug)) throw invalidCursor();
  return slug;
}

export interface PlanPosition {
  baseFee: number;
  code: string;
}

export const encodePlanCursor = (position: PlanPosition): string =>
  encode(`${position.baseFee}|${position.code}`);

export function decodePlanCursor(cursor: string | undefined): PlanPosition | undefined {
  if (cursor === undefined) return undefined;
  const [fee, code, extra] = decode(cursor).split('|');
  const baseFee = Number(fee);
  if (
    extra !== undefined ||
    !/^\d{1,16}$/.test(fee ?? '') ||
    !Number.isSafeInteger(baseFee) ||
    !PLAN_CODE.test(code ?? '')
  )
    throw invalidCursor();
  return { baseFee, code };
}

/** `limit + 1` rows into a page: the extra row only proves that another page exists. */
export function toCataloguePage<R, T>(
  rows: R[],
  limit: number,
  cursorOf: (row: R) => string,
  present: (row: R) => T,
): { data: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    data: kept.map(present),
    nextCursor: more ? cursorOf(kept[kept.length - 1]) : null,
  };
}
