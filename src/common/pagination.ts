import { Type as ClassType } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, isUUID, Max, MaxLength, Min } from 'class-validator';
import { CommonError } from './domain-error';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `?limit=&cursor=` of every list endpoint. */
export class PageQueryDto {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    default: DEFAULT_PAGE_SIZE,
    example: DEFAULT_PAGE_SIZE,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;

  @ApiPropertyOptional({
    description: 'The `nextCursor` of the previous page',
    example: 'WyIyMDI2LTExLTI5VDEwOjAwOjAwLjAwMFoiXQ',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** The kinds of value a cursor position holds, each checked when a cursor comes back. */
type CursorKind = 'timestamp' | 'uuid' | 'integer' | RegExp;
type CursorValue<K> = K extends 'timestamp' ? Date : K extends 'integer' ? number : string;
export type CursorPosition<K extends readonly CursorKind[]> = { [I in keyof K]: CursorValue<K[I]> };

/** A position in a list ordered by (createdAt DESC, id DESC): most org-owned lists. */
export const NEWEST_FIRST = ['timestamp', 'uuid'] as const;
export type NewestFirst = CursorPosition<typeof NEWEST_FIRST>;

const invalidCursor = () => new CommonError('invalid_cursor', 'cursor is not valid');

/** An opaque, URL-safe cursor holding the sort key of the last row of a page. */
export function encodeCursor(values: readonly (string | number | Date)[]): string {
  const plain = values.map((v) => (v instanceof Date ? v.toISOString() : v));
  return Buffer.from(JSON.stringify(plain)).toString('base64url');
}

/**
 * The position a cursor holds, checked against the list's sort key; undefined for the first
 * page. Anything else (forged, from another list, truncated) is 400 `invalid_cursor`, so a cursor
 * never reaches a query unchecked.
 */
export function decodeCursor<K extends readonly CursorKind[]>(
  cursor: string | undefined,
  kinds: K,
): CursorPosition<K> | undefined {
  if (cursor === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(values) || values.length !== kinds.length) throw invalidCursor();
  return kinds.map((kind, i) => decodeValue(kind, values[i])) as CursorPosition<K>;
}

function decodeValue(kind: CursorKind, value: unknown): Date | number | string {
  if (kind === 'integer') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalidCursor();
    return value;
  }
  if (typeof value !== 'string') throw invalidCursor();
  if (kind === 'timestamp') {
    const at = new Date(value);
    if (Number.isNaN(at.getTime()) || at.toISOString() !== value) throw invalidCursor();
    return at;
  }
  if (kind === 'uuid' ? !isUUID(value) : !kind.test(value)) throw invalidCursor();
  return value;
}

/**
 * Turns `limit + 1` rows read from the database into a page: the extra row only proves that
 * another page exists; the cursor holds the sort key of the last row kept.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  sortKey: (row: R) => readonly (string | number | Date)[],
  present: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    data: kept.map(present),
    nextCursor: more ? encodeCursor(sortKey(kept[kept.length - 1])) : null,
  };
}

/** The response class of a list of `Item`s, for Swagger: `{ data: Item[], nextCursor }`. */
export function PageOf<T>(item: ClassType<T>): ClassType<Page<T>> {
  class PageDto implements Page<T> {
    @ApiProperty({ type: [item] }) data: T[];
    @ApiProperty({
      type: String,
      nullable: true,
      description: 'Pass as `cursor` for the next page; null on the last page',
      example: null,
    })
    nextCursor: string | null;
  }
  Object.defineProperty(PageDto, 'name', { value: `PageOf${item.name}` });
  return PageDto;
}
