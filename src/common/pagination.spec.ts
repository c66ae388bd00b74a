import { randomUUID } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CommonError } from './domain-error';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_PAGE_SIZE,
  NEWEST_FIRST,
  PageQueryDto,
  toPage,
} from './pagination';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function expectInvalidCursor(
  cursor: string,
  kinds: Parameters<typeof decodeCursor>[1] = NEWEST_FIRST,
): void {
  let thrown: unknown;
  try {
    decodeCursor(cursor, kinds);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CommonError);
  expect(thrown).toMatchObject({
    code: 'invalid_cursor',
    status: 400,
    message: 'cursor is not valid',
  });
}

describe('cursors', () => {
  it('round-trips a position to the millisecond', () => {
    const position = [new Date('2025-03-04T05:06:07.089Z'), randomUUID()] as const;
    const cursor = encodeCursor(position);
    expect(decodeCursor(cursor, NEWEST_FIRST)).toEqual(position);
  });

  it('round-trips the catalogue orders: a slug, and a fee with a code', () => {
    expect(decodeCursor(encodeCursor(['api_calls']), [/^[a-z_]+$/] as const)).toEqual([
      'api_calls',
    ]);
    expect(decodeCursor(encodeCursor([4900, 'pro']), ['integer', /^[a-z]+$/] as const)).toEqual([
      4900,
      'pro',
    ]);
  });

  it('is URL-safe and opaque', () => {
    for (let i = 0; i < 20; i++) {
      const cursor = encodeCursor([new Date(Date.now() - i * 7777), randomUUID()]);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(encodeURIComponent(cursor)).toBe(cursor);
    }
  });

  it('decodes no cursor as the first page', () => {
    expect(decodeCursor(undefined, NEWEST_FIRST)).toBeUndefined();
  });

  it.each([
    ['garbage', 'garbage'],
    ['empty', ''],
    ['one part', b64('["2025-01-01T00:00:00.000Z"]')],
    ['a bad id', b64('["2025-01-01T00:00:00.000Z","not-a-uuid"]')],
    ['a bad date', b64(`["yesterday","${randomUUID()}"]`)],
    ['an empty date', b64(`["","${randomUUID()}"]`)],
    ['a date in another form', b64(`["2025-01-01","${randomUUID()}"]`)],
    ['an extra part', b64(`["2025-01-01T00:00:00.000Z","${randomUUID()}","x"]`)],
    ['SQL', b64(`["2025-01-01T00:00:00.000Z","' OR 1=1 --"]`)],
    ['an object', b64('{"createdAt":"2025-01-01T00:00:00.000Z"}')],
  ])('rejects %s with 400 invalid_cursor', (_label, cursor) => {
    expectInvalidCursor(cursor);
  });

  it('rejects a cursor of another list', () => {
    expectInvalidCursor(encodeCursor([4900, 'pro']));
    expectInvalidCursor(encodeCursor([1.5, 'pro']), ['integer', /^[a-z]+$/] as const);
    expectInvalidCursor(encodeCursor(['NOT A SLUG']), [/^[a-z_]+$/] as const);
  });
});

describe('toPage', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({
    id: randomUUID(),
    createdAt: new Date(Date.UTC(2025, 0, 10 - i)),
    name: `row ${i}`,
  }));
  const sortKey = (r: (typeof rows)[number]) => [r.createdAt, r.id] as const;
  const present = (r: (typeof rows)[number]) => r.name;

  it('keeps `limit` rows and points the cursor at the last kept row when limit+1 came back', () => {
    const page = toPage(rows.slice(0, 4), 3, sortKey, present);
    expect(page.data).toEqual(['row 0', 'row 1', 'row 2']);
    expect(page.nextCursor).not.toBeNull();
    expect(decodeCursor(page.nextCursor!, NEWEST_FIRST)).toEqual(sortKey(rows[2]));
  });

  it('answers nextCursor null when exactly `limit` rows came back', () => {
    expect(toPage(rows.slice(0, 3), 3, sortKey, present)).toEqual({
      data: ['row 0', 'row 1', 'row 2'],
      nextCursor: null,
    });
  });

  it('answers nextCursor null when fewer rows came back', () => {
    expect(toPage(rows.slice(0, 2), 3, sortKey, present)).toEqual({
      data: ['row 0', 'row 1'],
      nextCursor: null,
    });
  });

  it('answers an empty page', () => {
    expect(toPage([], 50, sortKey, present)).toEqual({ data: [], nextCursor: null });
  });

  it('presents only the kept rows', () => {
    const presented: string[] = [];
    toPage(rows, 4, sortKey, (r) => {
      presented.push(r.name);
      return r.name;
    });
    expect(presented).toEqual(['row 0', 'row 1', 'row 2', 'row 3']);
  });
});

describe('PageQueryDto', () => {
  const validate = (query: Record<string, unknown>) => {
    const dto = plainToInstance(PageQueryDto, query);
    return { dto, errors: validateSync(dto, { forbidNonWhitelisted: true, whitelist: true }) };
  };

  it(`defaults limit to ${DEFAULT_PAGE_SIZE}`, () => {
    const { dto, errors } = validate({});
    expect(errors).toEqual([]);
    expect(dto.limit).toBe(DEFAULT_PAGE_SIZE);
    expect(dto.cursor).toBeUndefined();
  });

  it.each(['1', '50', String(MAX_PAGE_SIZE)])('accepts limit=%s from a query string', (limit) => {
    const { dto, errors } = validate({ limit });
    expect(errors).toEqual([]);
    expect(dto.limit).toBe(Number(limit));
  });

  it.each([String(MAX_PAGE_SIZE + 1), '0', '-3', '2.5', 'ten', ''])('refuses limit=%j', (limit) => {
    const { errors } = validate({ limit });
    expect(errors.map((e) => e.property)).toEqual(['limit']);
  });

  it('refuses a cursor longer than 200 characters', () => {
    const { errors } = validate({ cursor: 'x'.repeat(201) });
    expect(errors.map((e) => e.property)).toEqual(['cursor']);
  });
});
