import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { Meter } from '../catalogue/catalogue.types';
import { Problem } from '../common/domain-error';
import { parseInstant } from '../common/instant';
import {
  CLOUD_EVENT_BATCH_SCHEMA,
  CLOUD_EVENT_SCHEMA,
  EVENT_BATCH_SCHEMA,
  EVENT_SCHEMA,
} from './event-schema';

export const MAX_FUTURE_MS = 5 * 60_000;
export const MAX_PAST_MS = 35 * 24 * 3600_000;
export const MAX_DATA_BYTES = 8 * 1024;
/**
 * The largest magnitude of a usage value: 2^53, as the contract says. Any JSON parser reads the
 * text 2^53 + 1 as 2^53 (the nearest double), so that one literal is taken as 2^53; everything
 * that parses above it is refused.
 */
export const MAX_VALUE = 2 ** 53;

/** How the body of `POST /v1/events` is written (its Content-Type). */
export type EventFormat = 'json' | 'cloudevent' | 'cloudevent-batch';

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

/** A problem with an event; `negative` marks the one with a code of its own (`negative_value`). */
export interface EventProblem extends Problem {
  negative?: boolean;
}

/**
 * The events in order, each with its place in the batch as it prefixes a field (`events[3].`, or
 * `` for a lone event), or every problem.
 */
export type BatchValidation =
  { events: ValidEvent[]; positions: string[] } | { problems: EventProblem[] };

/** The fields of an event, once its shape is known to be right. */
interface RawEvent {
  id: string;
  type: string;
  time?: string;
  subject?: string | null;
  data?: Record<string, unknown> | null;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, validateFormats: false });
ajv.addKeyword('x-rule').addKeyword('x-message').addKeyword('example');
const SHAPES: Record<'event' | 'batch' | EventFormat, ValidateFunction> = {
  json: ajv.compile(EVENT_SCHEMA),
  event: ajv.compile(EVENT_SCHEMA),
  batch: ajv.compile(EVENT_BATCH_SCHEMA),
  cloudevent: ajv.compile(CLOUD_EVENT_SCHEMA),
  'cloudevent-batch': ajv.compile(CLOUD_EVENT_BATCH_SCHEMA),
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One event or `{events: [...]}` (or CloudEvents, one or a batch): the events in order, or every
 * problem, each named by the field it is about (`events[3].id`). The shape is checked against the
 * one event schema; then each event against the catalogue and the clock.
 */
export function validateEventBatch(
  body: unknown,
  meters: ReadonlyMap<string, Meter>,
  now: number,
  format: EventFormat = 'json',
): BatchValidation {
  const shape = format === 'json' && isPlainObject(body) && 'events' in body ? 'batch' : format;
  if (format !== 'cloudevent-batch' && !isPlainObject(body))
    return { problems: [{ field: 'body', message: 'body must be an event or {events: [...]}' }] };
  const validate = SHAPES[shape];
  const errors = validate(body) ? [] : (validate.errors ?? []);
  if (shape !== 'batch' && shape !== 'cloudevent-batch') {
    if (errors.length) return { problems: shapeProblems(errors) };
    return checkAll([body], meters, now, () => '');
  }
  // A problem with the batch itself (not an array, too long) leaves no events to look at.
  const itemsPath = shape === 'batch' ? '/events' : '';
  const perItem = new Map<number, ErrorObject[]>();
  for (const error of errors) {
    const index = itemIndex(error.instancePath, itemsPath);
    if (index === null) return { problems: shapeProblems(errors) };
    perItem.set(index, [...(perItem.get(index) ?? []), error]);
  }
  const items = (shape === 'batch' ? (body as { events: unknown[] }).events : body) as unknown[];
  const name = shape === 'batch' ? (i: number) => `events[${i}].` : (i: number) => `[${i}].`;
  return checkAll(items, meters, now, name, perItem);
}

/** Which item of a batch an error is about, or null for the batch itself. */
function itemIndex(instancePath: string, itemsPath: string): number | null {
  if (!instancePath.startsWith(`${itemsPath}/`)) return null;
  const index = instancePath.slice(itemsPath.length + 1).split('/')[0];
  return /^\d+$/.test(index) ? Number(index) : null;
}

/** Every event, in order: its shape problems if it has some, else its semantics checked. */
function checkAll(
  items: unknown[],
  meters: ReadonlyMap<string, Meter>,
  now: number,
  name: (index: number) => string,
  shapeErrors = new Map<number, ErrorObject[]>(),
): BatchValidation {
  const problems: EventProblem[] = [];
  const events: ValidEvent[] = [];
  items.forEach((item, i) => {
    const errors = shapeErrors.get(i);
    if (errors) {
      problems.push(...shapeProblems(errors));
      return;
    }
    const result = checkEvent(item as RawEvent, meters, now);
    if ('event' in result) events.push(result.event);
    else problems.push(...result.problems.map((p) => named(p, name(i) + p.field)));
  });
  return problems.length ? { problems } : { events, positions: items.map((_, i) => name(i)) };
}

/** ajv's errors in the platform's words, one per field and rule. */
function shapeProblems(errors: ErrorObject[]): EventProblem[] {
  const seen = new Set<string>();
  const problems: EventProblem[] = [];
  for (const error of errors) {
    const problem = shapeProblem(error);
    const key = `${problem.field}\u0000${problem.message}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  return problems;
}

function shapeProblem(error: ErrorObject): EventProblem {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  const join = (name: string) => (path ? `${path}.${name}` : name);
  if (error.keyword === 'additionalProperties') {
    const name = (error.params as { additionalProperty: string }).additionalProperty;
    return { field: join(name), message: `property ${join(name)} should not exist` };
  }
  if (error.keyword === 'required') {
    const name = (error.params as { missingProperty: string }).missingProperty;
    const rule = (schema.properties as Record<string, { 'x-rule'?: string }>)[name]?.['x-rule'];
    return { field: join(name), message: `${join(name)} must be ${rule ?? 'present'}` };
  }
  const field = path || 'body';
  if (typeof schema['x-message'] === 'string') return { field, message: schema['x-message'] };
  if (typeof schema['x-rule'] === 'string')
    return { field, message: `${field} must be ${schema['x-rule']}` };
  return { field, message: `${field} ${error.message ?? 'is not valid'}` };
}

/** A semantic problem (found per event) named by its full path, in the field and the message. */
function named(problem: EventProblem, field: string): EventProblem {
  return { ...problem, field, message: `${field} ${problem.message}` };
}

/** What the schema cannot say: the meter exists, the time is in the window, the data and value fit. */
function checkEvent(
  raw: RawEvent,
  meters: ReadonlyMap<string, Meter>,
  now: number,
): { event: ValidEvent } | { problems: EventProblem[] } {
  const problems: EventProblem[] = [];
  const meter = meters.get(raw.type);
  if (!meter) problems.push({ field: 'type', message: `"${raw.type}" is not a known meter` });
  const time = eventTime(raw.time, now, problems);
  const data = eventData(raw.data, problems);
  const value = meter && data ? meterValue(meter, data, problems) : null;
  if (problems.length) return { problems };
  return {
    event: {
      id: raw.id,
      meter: meter!,
      time,
      // An empty subject is no subject (rollups and reports cannot tell them apart).
      subject: raw.subject ? raw.subject : null,
      data: data!,
      value,
      groupValues: groupValuesOf(meter!, data!),
    },
  };
}

function eventTime(text: string | undefined, now: number, problems: EventProblem[]): Date {
  if (text === undefined) return new Date(now);
  const at = parseInstant(text);
  if (!at)
    problems.push({ field: 'time', message: 'must be an ISO-8601 date-time with a time zone' });
  else if (at.getTime() > now + MAX_FUTURE_MS)
    problems.push({ field: 'time', message: 'must not be more than 5 minutes in the future' });
  else if (at.getTime() < now - MAX_PAST_MS)
    problems.push({ field: 'time', message: 'must not be more than 35 days in the past' });
  return at ?? new Date(now);
}

function eventData(
  data: Record<string, unknown> | null | undefined,
  problems: EventProblem[],
): Record<string, unknown> | null {
  if (data === undefined || data === null) return {};
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES) {
    problems.push({ field: 'data', message: 'must be at most 8 KB' });
    return null;
  }
  return data;
}

/** The number the meter aggregates, checked: finite, at most 2^53 in magnitude, ≥ 0 for sums. */
function meterValue(
  meter: Meter,
  data: Record<string, unknown>,
  problems: EventProblem[],
): number | null {
  const property = meter.valueProperty;
  if (meter.aggregation === 'count' || !property) return null;
  const field = `data.${property}`;
  const v = data[property];
  if (meter.aggregation === 'unique_count') {
    if (typeof v !== 'string' && typeof v !== 'number')
      problems.push({ field, message: 'must be a string or a number' });
    return null;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) problems.push({ field, message: 'must be a number' });
  else if (Math.abs(n) > MAX_VALUE)
    problems.push({ field, message: 'must be a number of magnitude at most 2^53' });
  else if (n < 0 && meter.aggregation === 'sum')
    problems.push({ field, message: 'must not be negative', negative: true });
  else return n;
  return null;
}

function groupValuesOf(meter: Meter, data: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of meter.groupBy) {
    const v = data[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      values[key] = String(v);
  }
  return values;
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
