import { Meter } from '../catalogue/catalogue.types';
import { groupKey, quotaAmount, validateEventBatch, ValidEvent } from './event-validation';

const meter = (
  slug: string,
  aggregation: Meter['aggregation'],
  valueProperty: string | null = null,
  groupBy: string[] = [],
): Meter => ({
  slug,
  name: slug,
  aggregation,
  valueProperty,
  groupBy,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

const METERS = new Map(
  [
    meter('api_calls', 'count'),
    meter('tokens', 'sum', 'tokens', ['model']),
    meter('users', 'unique_count', 'user'),
  ].map((m) => [m.slug, m]),
);
const NOW = Date.parse('2026-11-29T12:00:00Z');
const check = (body: unknown) => validateEventBatch(body, METERS, NOW);
const problems = (body: unknown) => {
  const result = check(body);
  return 'problems' in result ? result.problems.map((p) => p.message) : [];
};
const events = (body: unknown) => (check(body) as { events: ValidEvent[] }).events;

describe('validateEventBatch', () => {
  it('accepts one event, defaulting time to now', () => {
    const [event] = events({ id: 'e1', type: 'api_calls' });
    expect(event).toMatchObject({ id: 'e1', subject: null, value: null, data: {} });
    expect(event.time.getTime()).toBe(NOW);
  });

  it('reads the value property and the group-by values of the meter', () => {
    const [event] = events({
      events: [{ id: 'e1', type: 'tokens', data: { tokens: 12.5, model: 'gpt', other: 1 } }],
    });
    expect(event.value).toBe(12.5);
    expect(event.groupValues).toEqual({ model: 'gpt' });
    expect(events({ id: 'e2', type: 'tokens', data: { tokens: '7' } })[0].value).toBe(7);
  });

  it.each([
    [
      'an id too long',
      { id: 'x'.repeat(129), type: 'api_calls' },
      'id must be a string of 1 to 128 characters',
    ],
    ['an empty id', { id: '', type: 'api_calls' }, 'id must be a string of 1 to 128 characters'],
    ['an unknown meter', { id: 'e', type: 'nope' }, 'type "nope" is not a known meter'],
    [
      'a time 6 minutes ahead',
      { id: 'e', type: 'api_calls', time: '2026-11-29T12:06:00Z' },
      'time must not be more than 5 minutes in the future',
    ],
    [
      'a time 36 days back',
      { id: 'e', type: 'api_calls', time: '2026-10-24T12:00:00Z' },
      'time must not be more than 35 days in the past',
    ],
    [
      'a time without zone',
      { id: 'e', type: 'api_calls', time: '2026-11-29T12:00:00' },
      'time must be an ISO-8601 date-time with a time zone',
    ],
    [
      'a long subject',
      { id: 'e', type: 'api_calls', subject: 's'.repeat(257) },
      'subject must be a string of at most 256 characters',
    ],
    [
      'data that is an array',
      { id: 'e', type: 'api_calls', data: [1] },
      'data must be a JSON object',
    ],
    [
      'data over 8 KB',
      { id: 'e', type: 'api_calls', data: { blob: 'x'.repeat(8200) } },
      'data must be at most 8 KB',
    ],
    [
      'a non-numeric value',
      { id: 'e', type: 'tokens', data: { tokens: 'many' } },
      'data.tokens must be a number',
    ],
    ['a missing value', { id: 'e', type: 'tokens', data: {} }, 'data.tokens must be a number'],
    [
      'a missing unique value',
      { id: 'e', type: 'users', data: {} },
      'data.user must be a string or a number',
    ],
    [
      'an unknown field',
      { id: 'e', type: 'api_calls', extra: 1 },
      'property extra should not exist',
    ],
  ])('refuses %s', (_, event, problem) => {
    expect(problems(event)).toContain(problem);
  });

  it('takes values of magnitude up to 2^53, and refuses what parses above it', () => {
    const value = (tokens: unknown) => ({ id: 'v', type: 'tokens', data: { tokens } });
    expect(events(value(2 ** 53))[0].value).toBe(2 ** 53);
    expect(events(value(2 ** 53 - 1))[0].value).toBe(2 ** 53 - 1);
    for (const raw of ['9007199254740994', '18014398509481984', '-9007199254740994', '1e300']) {
      expect(problems(value(JSON.parse(raw)))).toEqual([
        'data.tokens must be a number of magnitude at most 2^53',
      ]);
    }
    expect(problems(value(-1))).toEqual(['data.tokens must not be negative']);
  });

  it('accepts the edges of the time window', () => {
    expect(problems({ id: 'a', type: 'api_calls', time: '2026-11-29T12:05:00Z' })).toEqual([]);
    expect(problems({ id: 'b', type: 'api_calls', time: '2026-10-25T12:00:00Z' })).toEqual([]);
  });

  it('names every bad event of a batch by its index', () => {
    expect(
      problems({
        events: [
          { id: 'ok', type: 'api_calls' },
          { id: '', type: 'api_calls' },
          { id: 'x', type: 'nope' },
        ],
      }),
    ).toEqual([
      'events[1].id must be a string of 1 to 128 characters',
      'events[2].type "nope" is not a known meter',
    ]);
  });

  it('refuses an empty batch, one over 1000 events, and a body that is not an object', () => {
    expect(problems({ events: [] })).toEqual(['events must contain between 1 and 1000 events']);
    expect(
      problems({
        events: Array.from({ length: 1001 }, (_, i) => ({ id: `${i}`, type: 'api_calls' })),
      }),
    ).toHaveLength(1);
    expect(problems([1, 2])).toEqual(['body must be an event or {events: [...]}']);
    expect(problems({ events: [], extra: true })).toEqual([
      'property extra should not exist',
      'events must contain between 1 and 1000 events',
    ]);
  });
});

describe('quota and rollup helpers', () => {
  it('counts one unit per count event and the value per sum event', () => {
    expect(quotaAmount(events({ id: 'a', type: 'api_calls' })[0])).toBe(1);
    expect(quotaAmount(events({ id: 'b', type: 'tokens', data: { tokens: 40 } })[0])).toBe(40);
    expect(quotaAmount(events({ id: 'c', type: 'users', data: { user: 'u1' } })[0])).toBe(0);
  });

  it('writes group keys with sorted keys', () => {
    expect(groupKey({ b: '2', a: '1' })).toBe('{"a":"1","b":"2"}');
  });
});
