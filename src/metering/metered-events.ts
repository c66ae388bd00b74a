import { Meter } from '../catalogue/catalogue.types';
import { ValidEvent } from './event-validation';

/** Largest `cost` of one verify or metered call on a count meter (it becomes that many events). */
export const MAX_COUNT_COST = 1_000;

/**
 * The events that stand for `cost` units of `meter` used by one call. A count meter counts
 * events, so `cost` units are `cost` events; other meters get one event whose value is `cost`.
 * Ids derive from `idBase`, so a retried call (same request id or Idempotency-Key) is a duplicate.
 */
export function eventsForCall(
  meter: Meter,
  cost: number,
  idBase: string,
  now = new Date(),
): ValidEvent[] {
  if (meter.aggregation === 'count') {
    return Array.from({ length: cost }, (_, i) => ({
      id: cost === 1 ? idBase : `${idBase}:${i}`,
      meter,
      time: now,
      subject: null,
      data: {},
      value: null,
      groupValues: {},
    }));
  }
  return [
    {
      id: idBase,
      meter,
      time: now,
      subject: null,
      data: meter.valueProperty ? { [meter.valueProperty]: cost } : {},
      value: cost,
      groupValues: {},
    },
  ];
}
