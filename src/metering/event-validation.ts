import { Meter } from '../catalogue/catalogue.types';

export const MAX_BATCH = 1000;
export const MAX_FUTURE_MS = 5 * 60_000;
export const MAX_PAST_MS = 35 * 24 * 3600_000;
export const MAX_DATA_BYTES = 8 * 1024;
const EVENT_FIELDS = new Set(['id', 'type', 'time', 'subject', 'data']);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** An event that passed validation, with what the meter reads from it. */
export interface ValidEvent {
  id: string;
  meter: Meter;
  time: Date;
  subject: string | null;
  data: Record<string, unknown>;
  /** The number the meter aggregates: its value property, or null (`count`, `unique_count`). */
  value: number | null;
  /** The meter's group-by values present in `data`, as strings. */
  groupValues: Record<string, string>;
}

export type BatchValidation = { events: ValidEvent[] } | { problems: string[] };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{events: [...]}` or one event: the events in order, or every problem, named by index. */
export function validateEventBatch(
  body: unknown,
  meters: Map<string, Meter>,
  now: number,
): BatchValidation {
  let raw: unknown[];
  let single = false;
  if (isPlainObject(body) && 'events' in body) {
    const extra = Object.keys(body).filter((k) => k !== 'events');
    if (extra.length) return { problems: extra.map((k) => `property ${k} should not exist`) };
    if (!Array.isArray(body.events)) return { problems: ['events must be an array'] };
    raw = body.events;
    if (raw.length === 0 || raw.length > MAX_BATCH) {
      return { problems: [`events must contain between 1 and ${MAX_BATCH} events`] };
    }
  } else if (isPlainObject(body)) {
    raw = [body];
    single = true;
  } else {
    return { problems: ['body must be an event or {events: [...]}'] };
  }
  const problems: string[] = [];
  const events: ValidEvent[] = [];
  raw.forEach((candidate, index) => {
    const at = single ? '' : `events[${index}].`;
    const result = validateEvent(candidate, meters, now);
    if ('problems' in result) problems.push(...result.problems.map((p) => `${at}${p}`));
    else events.push(result.event);
  });
  return problems.length ? { problems } : { events };
}

function validateEvent(
  candidate: unknown,
  meters: Map<string, Meter>,
  now: number,
): { event: ValidEvent } | { problems: string[] } {
  if (!isPlainObject(candidate)) return { problems: ['event must be an object'] };
  const problems: string[] = [];
  for (const key of Object.keys(candidate))
    if (!EVENT_FIELDS.has(key)) problems.push(`property ${key} should not exist`);

  const { id, type, time, subject, data } = candidate;
  if (typeof id !== 'string' || id.length < 1 || id.length > 128)
    problems.push('id must be a string of 1 to 128 characters');

  const meter = typeof type === 'string' ? meters.get(type) : undefined;
  if (typeof type !== 'string') problems.push('type must be a meter slug');
  else if (!meter) problems.push(`type "${type.slice(0, 64)}" is not a known meter`);

  let at = now;
  if (time !== undefined) {
    const parsed = typeof time === 'string' && ISO_8601.test(time) ? Date.parse(time) : NaN;
    if (Number.isNaN(parsed)) problems.push('time must be an ISO-8601 date-time with a time zone');
    else if (parsed > now + MAX_FUTURE_MS)
      problems.push('time must not be more than 5 minutes in the future');
    else if (parsed < now - MAX_PAST_MS)
      problems.push('time must not be more than 35 days in the past');
    else at = parsed;
  }

  if (
    subject !== undefined &&
    subject !== null &&
    (typeof subject !== 'string' || subject.length > 256)
  ) {
    problems.push('subject must be a string of at most 256 characters');
  }

  let payload: Record<string, unknown> = {};
  if (data !== undefined && data !== null) {
    if (!isPlainObject(data)) problems.push('data must be a JSON object');
    else if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES)
      problems.push('data must be at most 8 KB');
    else payload = data;
  }

  let value: number | null = null;
  const groupValues: Record<string, string> = {};
  if (meter && isPlainObject(payload)) {
    const property = meter.valueProperty;
    if (meter.aggregation === 'unique_count') {
      const v = property ? payload[property] : undefined;
      if (typeof v !== 'string' && typeof v !== 'number')
        problems.push(`data.${property} must be a string or a number`);
    } else if (meter.aggregation !== 'count' && property) {
      const v = payload[property];
      const n =
        typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) problems.push(`data.${property} must be a number`);
      else value = n;
    }
    for (const key of meter.groupBy) {
      const v = payload[key];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
        groupValues[key] = String(v);
    }
  }

  if (problems.length) return { problems };
  return {
    event: {
      id: id as string,
      meter: meter!,
      time: new Date(at),
      // An empty subject is no subject (rollups and reports cannot tell them apart).
      subject: typeof subject === 'string' && subject !== '' ? subject : null,
      data: payload,
      value,
      groupValues,
    },
  };
}

/** The units an event uses of a quota: one for `count`, its value for `sum`; other meters have none. */
export function quotaAmount(event: ValidEvent): number {
  if (event.meter.aggregation === 'count') return 1;
  if (event.meter.aggregation === 'sum') return event.value ?? 0;
  return 0;
}

/** Canonical JSON of group-by values (sorted keys): part of the rollup's primary key. */
export function groupKey(values: Record<string, string>): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(values).sort(([a], [b]) => a.localeCompare(b))),
  );
}

/** `YYYY-MM` of a time, in UTC. */
export function periodOf(time: Date): string {
  return time.toISOString().slice(0, 7);
}
