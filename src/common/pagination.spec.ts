import { randomUUID } from 'node:crypto';
import { BadRequestException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  Keyset,
  MAX_PAGE_SIZE,
  PageQueryDto,
  toPage,
} from './pagination';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function expectInvalidCursor(cursor: string): void {
  let thrown: unknown;
  try {
    decodeCursor(cursor);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(BadRequestException);
  expect((thrown as BadRequestException).getResponse()).toEqual({
    code: 'invalid_cursor',
    message: 'cursor is not valid',
  });
}

describe('cursors', () => {
  it('round-trips a position to the millisecond', () => {
    const position: Keyset = { createdAt: new Date('2025-03-04T05:06:07.089Z'), id: randomUUID() };
    const cursor = encodeCursor(position);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('is URL-safe and opaque', () => {
    for (let i = 0; i < 20; i++) {
      const cursor = encodeCursor({ createdAt: new Date(Date.now() - i * 7777), id: randomUUID() });
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(encodeURIComponent(cursor)).toBe(cursor);
    }
  });

  it('decodes no cursor as the first page', () => {
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it.each([
    ['garbage', 'garbage'],
    ['empty', ''],
    ['no separator', b64('2025-01-01T00:00:00.000Z')],
    ['a bad id', b64('2025-01-01T00:00:00.000Z|not-a-uuid')],
    ['a bad date', b64(`yesterday|${randomUUID()}`)],
    ['an empty date', b64(`|${randomUUID()}`)],
    ['an extra part', b64(`2025-01-01T00:00:00.000Z|${randomUUID()}|x`)],
    ['SQL', b64(`2025-01-01T00:00:00.000Z|' OR 1=1 --`)],
  ])('rejects %s with 400 invalid_cursor', (_label, cursor) => {
    expectInvalidCursor(cursor);
  });
});

describe('toPage', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({
    id: randomUUID(),
    createdAt: new Date(Date.UTC(2025, 0, 10 - i)),
    name: `row ${i}`,
  }));
  const position = (r: (typeof rows)[number]): Keyset => ({ createdAt: r.createdAt, id: r.id });
  const present = (r: (typeof rows)[number]) => r.name;

  it('keeps `limit` rows and points the cursor at the last kept row when limit+1 came back', () => {
    const page = toPage(rows.slice(0, 4), 3, position, present);
    expect(page.data).toEqual(['row 0', 'row 1', 'row 2']);
    expect(page.nextCursor).not.toBeNull();
    expect(decodeCursor(page.nextCursor!)).toEqual(position(rows[2]));
  });

  it('answers nextCursor null when exactly `limit` rows came back', () => {
    expect(toPage(rows.slice(0, 3), 3, position, present)).toEqual({
      data: ['row 0', 'row 1', 'row 2'],
      nextCursor: null,
    });
  });

  it('answers nextCursor null when fewer rows came back', () => {
    expect(toPage(rows.slice(0, 2), 3, position, present)).toEqual({
      data: ['row 0', 'row 1'],
      nextCursor: null,
    });
  });

  it('answers an empty page', () => {
    expect(toPage([], 50, position, present)).toEqual({ data: [], nextCursor: null });
  });

  it('presents only the kept rows', () => {
    const presented: string[] = [];
    toPage(rows, 4, position, (r) => {
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
