import { DomainError } from './domain-error';
import { inspect, MAX_JSON_DEPTH, unsafeStringProblem } from './request-body';

/** `depth` arrays, one inside the other, around `inner`. */
const nested = (depth: number, inner: unknown = 1): unknown => {
  let value = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

const problemOf = (body: unknown, root?: string) => {
  const error = inspect(body, root);
  return error && { code: error.code, status: error.status, problems: error.problems };
};

describe('unsafeStringProblem', () => {
  it.each([
    ['', null],
    ['plain ascii', null],
    ['accents é and emoji 😀 (a paired surrogate)', null],
    ['\u{10FFFF} the last code point', null],
    ['a\u0000b', 'must not contain U+0000'],
    ['\u0000', 'must not contain U+0000'],
    ['lone high \ud800', 'must not contain an unpaired surrogate'],
    ['lone low \udfff', 'must not contain an unpaired surrogate'],
    ['reversed pair \ude00\ud83d', 'must not contain an unpaired surrogate'],
  ])('%j → %j', (text, expected) => {
    expect(unsafeStringProblem(text)).toBe(expected);
  });
});

describe('inspect', () => {
  it('accepts what JSON and Postgres can both hold', () => {
    expect(inspect({ a: 'x', b: [1, 2.5, -3, true, null, { c: 'é😀' }], d: {} })).toBeNull();
    expect(inspect('just a string')).toBeNull();
    expect(inspect(undefined)).toBeNull();
  });

  it('names the field of a bad value by its full path', () => {
    expect(problemOf({ events: [{ id: 'ok' }, { data: { a: { b: ['x', 'y\u0000'] } } }] })).toEqual(
      {
        code: 'validation_failed',
        status: 400,
        problems: [
          {
            field: 'events[1].data.a.b[1]',
            message: 'events[1].data.a.b[1] must not contain U+0000',
          },
        ],
      },
    );
    expect(problemOf({ name: 'x\ud800' })?.problems).toEqual([
      { field: 'name', message: 'name must not contain an unpaired surrogate' },
    ]);
  });

  it('names the object holding a bad key', () => {
    expect(problemOf({ data: { inner: { 'k\u0000': 1 } } })?.problems).toEqual([
      { field: 'data.inner', message: 'data.inner has a key that must not contain U+0000' },
    ]);
    expect(problemOf({ '\udc00': 1 })?.problems).toEqual([
      { field: 'body', message: 'body has a key that must not contain an unpaired surrogate' },
    ]);
  });

  it('calls a bad top-level string "body", and prefixes paths with the root it is given', () => {
    expect(problemOf('\u0000')?.problems?.[0].field).toBe('body');
    expect(problemOf({ subject: 'a\u0000' }, 'query')?.problems).toEqual([
      { field: 'query.subject', message: 'query.subject must not contain U+0000' },
    ]);
  });

  it('refuses a number that overflowed (1e309 parses as Infinity), naming it', () => {
    const body = JSON.parse('{"data":{"n":[1e309]}}');
    expect(problemOf(body)?.problems).toEqual([
      { field: 'data.n[0]', message: 'data.n[0] must be a finite number' },
    ]);
    expect(problemOf(JSON.parse('-1e400'))?.problems?.[0].field).toBe('body');
    expect(inspect(JSON.parse('[1.7976931348623157e308, 1e-400]'))).toBeNull();
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting and refuses ${MAX_JSON_DEPTH + 1}`, () => {
    expect(inspect(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(inspect(nested(MAX_JSON_DEPTH, 'leaf'))).toBeNull();
    const error = inspect(nested(MAX_JSON_DEPTH + 1)) as DomainError;
    expect(error).toMatchObject({ status: 400, code: 'bad_request' });
    expect(error.message).toMatch(/nested deeper than 32 levels/);
    // Objects count like arrays.
    expect(
      inspect(JSON.parse('{"a":'.repeat(MAX_JSON_DEPTH) + '1' + '}'.repeat(MAX_JSON_DEPTH))),
    ).toBeNull();
    expect(
      inspect(
        JSON.parse('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1)),
      ),
    ).toMatchObject({ code: 'bad_request' });
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    const depth = 100_000;
    const body = JSON.parse('['.repeat(depth) + ']'.repeat(depth));
    expect(inspect(body)).toMatchObject({ status: 400, code: 'bad_request' });
  });

  it('cuts a long hostile key short in the field it names', () => {
    const key = 'k'.repeat(100);
    const problems = problemOf({ data: { [key]: 'v\u0000' } })?.problems;
    expect(problems?.[0].field).toBe(`data.${'k'.repeat(64)}…`);
  });
});
