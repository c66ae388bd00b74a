import { RateLimit } from '../limits/rate-limit';
import { PriceModel } from './price-model';

/** The catalogue as the rest of the platform reads it (metering, quotas, billing). */

export const METER_AGGREGATIONS = [
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'latest',
  'unique_count',
] as const;
export type MeterAggregation = (typeof METER_AGGREGATIONS)[number];

/** Aggregations that read a property of the event's `data` (all but `count`). */
export const AGGREGATIONS_WITH_VALUE: readonly MeterAggregation[] = [
  'sum',
  'min',
  'max',
  'avg',
  'latest',
  'unique_count',
];

export const ENFORCEMENTS = ['hard', 'soft'] as const;
export type Enforcement = (typeof ENFORCEMENTS)[number];

/** Same rules as the database's CHECK constraints. */
export const METER_SLUG = /^[a-z][a-z0-9_]{0,63}$/;
export const PLAN_CODE = /^[a-z][a-z0-9_-]{0,63}$/;
/** A top-level key of an event's `data` object (no paths: `tokens`, not `usage.tokens`). */
export const DATA_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface Meter {
  slug: string;
  name: string;
  aggregation: MeterAggregation;
  /** The `data` key whose values are aggregated; null for `count`. */
  valueProperty: string | null;
  groupBy: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface PlanMeter {
  meter: string;
  /** Units included per calendar month before overage (or refusal, when `hard`). */
  included: number;
  enforcement: Enforcement;
  price: PriceModel;
}

export interface Plan {
  code: string;
  name: string;
  currency: string;
  /** Minor units per month. */
  baseFee: number;
  rateLimit: RateLimit;
  meters: PlanMeter[];
  createdAt: Date;
  updatedAt: Date;
}
