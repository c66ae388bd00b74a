/**
 * Price models (CONTRACT §8): pure types and the validation applied on every write, so that the
 * billing code can compute with a stored price without checking it again.
 *
 * Amounts are minor units (cents): a non-negative integer, or a decimal string for fractional
 * unit amounts (`"0.5"`, at most 12 decimals). Numbers with a fraction are refused, so that no
 * binary floating point ever enters a price.
 */

export const PRICE_MODELS = ['flat', 'graduated', 'volume', 'package'] as const;
export type PriceModelName = (typeof PRICE_MODELS)[number];

/** Minor units: a non-negative safe integer, or a decimal string such as `"0.5"`. */
export type Amount = number | string;

export const DECIMAL_AMOUNT = /^\d+(\.\d{1,12})?$/;

export interface PriceTier {
  /** Inclusive upper bound in units; `null` only (and always) in the last tier. */
  upTo: number | null;
  unitAmount: Amount;
  flatAmount?: Amount;
}

export interface FlatPrice {
  model: 'flat';
  unitAmount: Amount;
}

export interface GraduatedPrice {
  model: 'graduated';
  tiers: PriceTier[];
}

export interface VolumePrice {
  model: 'volume';
  tiers: PriceTier[];
}

export interface PackagePrice {
  model: 'package';
  packageSize: number;
  packageAmount: Amount;
}

export type PriceModel = FlatPrice | GraduatedPrice | VolumePrice | PackagePrice;

const FIELDS: Record<PriceModelName, readonly string[]> = {
  flat: ['model', 'unitAmount'],
  graduated: ['model', 'tiers'],
  volume: ['model', 'tiers'],
  package: ['model', 'packageSize', 'packageAmount'],
};
const TIER_FIELDS = ['upTo', 'unitAmount', 'flatAmount'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isAmount(value: unknown): value is Amount {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  return typeof value === 'string' && DECIMAL_AMOUNT.test(value);
}

function unknownFields(
  value: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
): string[] {
  return Object.keys(value)
    .filter((field) => !allowed.includes(field))
    .map((field) => `property ${path}${field} should not exist`);
}

function amountProblem(value: unknown, path: string): string[] {
  return isAmount(value)
    ? []
    : [`${path} must be a non-negative integer or a decimal string such as "0.5"`];
}

function tierProblems(tiers: unknown): string[] {
  if (!Array.isArray(tiers) || tiers.length === 0)
    return ['tiers must be an array of at least one tier'];
  const problems: string[] = [];
  let previous: number | undefined;
  tiers.forEach((tier: unknown, i) => {
    const path = `tiers.${i}.`;
    const last = i === tiers.length - 1;
    if (!isPlainObject(tier)) {
      problems.push(`tiers.${i} must be an object`);
      return;
    }
    problems.push(...unknownFields(tier, TIER_FIELDS, path));
    if (tier.upTo === null) {
      if (!last) problems.push(`${path}upTo may be null only in the last tier`);
    } else if (last) {
      problems.push(`${path}upTo must be null in the last tier (it has no upper bound)`);
    } else if (typeof tier.upTo !== 'number' || !Number.isSafeInteger(tier.upTo) || tier.upTo < 1) {
      problems.push(`${path}upTo must be a positive integer, or null in the last tier`);
    } else {
      if (previous !== undefined && tier.upTo <= previous)
        problems.push(`${path}upTo must be greater than the previous tier's upTo (${previous})`);
      previous = tier.upTo;
    }
    problems.push(...amountProblem(tier.unitAmount, `${path}unitAmount`));
    if (tier.flatAmount !== undefined)
      problems.push(...amountProblem(tier.flatAmount, `${path}flatAmount`));
  });
  return problems;
}

/**
 * Every problem with `value` as a price model, each naming the field it is about (relative to
 * the price object); an empty list means it is valid.
 */
export function priceModelProblems(value: unknown): string[] {
  if (!isPlainObject(value)) return ['must be an object'];
  const model = value.model;
  if (typeof model !== 'string' || !(PRICE_MODELS as readonly string[]).includes(model))
    return [`model must be one of ${PRICE_MODELS.join(', ')}`];
  const problems = unknownFields(value, FIELDS[model as PriceModelName], '');
  switch (model as PriceModelName) {
    case 'flat':
      problems.push(...amountProblem(value.unitAmount, 'unitAmount'));
      break;
    case 'graduated':
    case 'volume':
      problems.push(...tierProblems(value.tiers));
      break;
    case 'package':
      if (
        typeof value.packageSize !== 'number' ||
        !Number.isSafeInteger(value.packageSize) ||
        value.packageSize < 1
      )
        problems.push('packageSize must be an integer of at least 1');
      problems.push(...amountProblem(value.packageAmount, 'packageAmount'));
      break;
  }
  return problems;
}

export function isPriceModel(value: unknown): value is PriceModel {
  return priceModelProblems(value).length === 0;
}
