import Big from 'big.js';
import { Amount, PriceModel, PriceTier } from '../catalogue/price-model';

/**
 * Prices one invoice line (CONTRACT §8, §9). Pure: the price is the stored, already validated
 * model (`priceModelProblems` ran on write), so nothing here checks its shape again.
 *
 * Money never touches a binary float. Quantities arrive as JS numbers (a `sum` meter can be
 * fractional) and are read into big.js through their shortest decimal form, so `1.15 - 1` is
 * `0.15` here, not `0.1499999999999999`. big.js adds, subtracts and multiplies exactly; the one
 * division (packages) is made exact below. The line's exact amount is rounded half-up once, at
 * the very end: rounding per unit or per tier would drift from what the price says.
 *
 * No usage, no charge: with `billable = 0` every model charges 0 and no tier is reached. The
 * contract leaves open whether a total of 0 "falls in" a volume price's first tier (and so owes
 * its `flatAmount`); we say it does not, so an unused meter, or usage within `included`, never
 * adds a fee. A fixed monthly charge belongs in the plan's `baseFee`.
 */

export interface PricedTier {
  upTo: number | null;
  /** Billable units charged in this tier (0 when not reached). */
  quantity: number;
  /** The price's own values, echoed as stored; `flatAmount` is 0 when the tier was not reached. */
  unitAmount: Amount;
  flatAmount: Amount;
  /**
   * The tier's exact amount, NOT rounded: a number when it is whole, else a decimal string such
   * as `"101.5"`. The line's `amount` is the half-up rounding of the exact sum of these, so the
   * rounded tier amounts need not add up to it and showing them rounded would mislead.
   */
  amount: Amount;
}

export interface PricedLine {
  quantity: number;
  included: number;
  /** `max(0, quantity - included)`, computed exactly, then the nearest JS number to it. */
  billable: number;
  /** Integer minor units. */
  amount: number;
  /** Present for `graduated` and `volume` only: one entry per tier of the price, in order. */
  tiers?: PricedTier[];
}

interface ExactTier {
  tier: PriceTier;
  quantity: Big;
  reached: boolean;
  amount: Big;
}

const ZERO = new Big(0);

/**
 * Rounds an exact amount half-up to integer minor units. Past `Number.MAX_SAFE_INTEGER` a JS
 * number cannot hold the amount exactly, so this throws rather than bill a neighbouring value.
 */
export function toMinorUnits(exact: Big, what = 'amount'): number {
  const rounded = exact.round(0, Big.roundHalfUp);
  if (rounded.gt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(
      `${what} of ${rounded.toFixed()} minor units exceeds Number.MAX_SAFE_INTEGER ` +
        `(${Number.MAX_SAFE_INTEGER}) and cannot be represented exactly`,
    );
  return rounded.toNumber();
}

/** An exact amount as shown on an invoice: a number when whole, else a plain decimal string. */
export function exactAmount(value: Big): Amount {
  // toFixed() without places never uses exponent notation; big.js keeps no trailing zeros.
  return value.round(0, Big.roundDown).eq(value) ? value.toNumber() : value.toFixed();
}

/** `max(0, quantity - included)`, exactly. */
export function billableQuantity(quantity: number, included: number): Big {
  if (!Number.isFinite(quantity))
    throw new RangeError(`quantity must be a finite number, got ${quantity}`);
  if (!Number.isFinite(included) || included < 0)
    throw new RangeError(`included must be a non-negative finite number, got ${included}`);
  const billable = new Big(quantity).minus(included);
  return billable.gt(0) ? billable : ZERO;
}

export function priceLine(price: PriceModel, quantity: number, included: number): PricedLine {
  const billable = billableQuantity(quantity, included);
  const line = { quantity, included, billable: billable.toNumber() };
  switch (price.model) {
    case 'flat':
      return { ...line, amount: toMinorUnits(billable.times(price.unitAmount), 'line amount') };
    case 'package': {
      const packages = ceilDiv(billable, price.packageSize);
      return { ...line, amount: toMinorUnits(packages.times(price.packageAmount), 'line amount') };
    }
    case 'graduated':
      return withTiers(line, graduated(price.tiers, billable));
    case 'volume':
      return withTiers(line, volume(price.tiers, billable));
  }
}

function withTiers(line: Omit<PricedLine, 'amount'>, tiers: ExactTier[]): PricedLine {
  const exact = tiers.reduce((sum, t) => sum.plus(t.amount), ZERO);
  // Checked before the tiers are shown: every tier amount is at most the line's, so none of
  // the whole ones can be past the safe range either.
  const amount = toMinorUnits(exact, 'line amount');
  return {
    ...line,
    amount,
    tiers: tiers.map(({ tier, quantity, reached, amount: tierAmount }) => ({
      upTo: tier.upTo,
      quantity: quantity.toNumber(),
      unitAmount: tier.unitAmount,
      flatAmount: reached ? (tier.flatAmount ?? 0) : 0,
      amount: exactAmount(tierAmount),
    })),
  };
}

/** A tier is reached when some billable quantity falls in it; only then is its flatAmount due. */
function tierAmount(tier: PriceTier, quantity: Big): ExactTier {
  const reached = quantity.gt(0);
  const flat = reached ? new Big(tier.flatAmount ?? 0) : ZERO;
  return { tier, quantity, reached, amount: quantity.times(tier.unitAmount).plus(flat) };
}

/**
 * Tier k holds the units in (previous upTo, upTo]. A fractional billable such as 10.5 with a
 * first tier up to 10 puts 10 units in the first tier and 0.5 in the second.
 */
function graduated(tiers: PriceTier[], billable: Big): ExactTier[] {
  let lower = ZERO;
  return tiers.map((tier) => {
    const upper = tier.upTo === null || billable.lt(tier.upTo) ? billable : new Big(tier.upTo);
    const quantity = upper.gt(lower) ? upper.minus(lower) : ZERO;
    if (tier.upTo !== null) lower = new Big(tier.upTo);
    return tierAmount(tier, quantity);
  });
}

/**
 * The whole billable is priced in the first tier whose upTo it does not exceed. A billable of 0
 * lands in the first tier with no units, which `tierAmount` counts as not reached: no fee.
 */
function volume(tiers: PriceTier[], billable: Big): ExactTier[] {
  const applies = tiers.findIndex((tier) => tier.upTo === null || billable.lte(tier.upTo));
  return tiers.map((tier, i) => tierAmount(tier, i === applies ? billable : ZERO));
}

/**
 * `ceil(billable / size)` exactly. big.js rounds a quotient to `Big.DP` (20) places, so
 * 1e-21 / 1 reads as 0 and a naive ceiling would give away a package; the floor of the rounded
 * quotient is at most one too high (rounding never drops below an integer it passed), and the
 * remainder, found by exact multiplication, decides the ceiling.
 */
function ceilDiv(billable: Big, size: number): Big {
  let floor = billable.div(size).round(0, Big.roundDown);
  if (floor.times(size).gt(billable)) floor = floor.minus(1);
  return floor.times(size).eq(billable) ? floor : floor.plus(1);
}
