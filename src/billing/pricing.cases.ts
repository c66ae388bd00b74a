import { Amount, PriceModel, PriceTier } from '../catalogue/price-model';
import { PricedTier } from './pricing';

/**
 * One table of line-pricing cases worked out by hand, checked against `priceLine`
 * (`pricing.spec.ts`) and meant for the invoice e2e test too, which can price a one-meter plan
 * with the same expectations (the way `gcra.cases.ts` serves both the maths and the Lua script).
 * Fractional quantities need a `sum` meter; the cases past 2^53 can only run in-process.
 */

export interface ExpectedLine {
  billable: number;
  amount: number;
  tiers?: PricedTier[];
}

export type PricingCase = {
  name: string;
  price: PriceModel;
  quantity: number;
  included: number;
} & ({ expected: ExpectedLine } | { throws: RegExp });

const MAX = Number.MAX_SAFE_INTEGER; // 9007199254740991

/** A tier of the expected answer, in the order of its fields. */
const t = (
  upTo: number | null,
  quantity: number,
  unitAmount: Amount,
  flatAmount: Amount,
  amount: Amount,
): PricedTier => ({ upTo, quantity, unitAmount, flatAmount, amount });

const flat = (unitAmount: Amount): PriceModel => ({ model: 'flat', unitAmount });
const pkg = (packageSize: number, packageAmount: Amount): PriceModel => ({
  model: 'package',
  packageSize,
  packageAmount,
});
/** A price tier; `flatAmount` only when given, as the catalogue stores it. */
const pt = (upTo: number | null, unitAmount: Amount, flatAmount?: Amount): PriceTier =>
  flatAmount === undefined ? { upTo, unitAmount } : { upTo, unitAmount, flatAmount };
const grad = (...tiers: PriceTier[]): PriceModel => ({ model: 'graduated', tiers });
const vol = (...tiers: PriceTier[]): PriceModel => ({ model: 'volume', tiers });

const GRADUATED = grad(pt(10, 5), pt(20, 3, 100), pt(null, 1));
/** GRADUATED's tiers in the answer, holding q1, q2, q3 units for a1, a2, a3. */
const g = (q1: number, q2: number, q3: number, a1: Amount, a2: Amount, a3: Amount) => [
  t(10, q1, 5, 0, a1),
  t(20, q2, 3, q2 > 0 ? 100 : 0, a2),
  t(null, q3, 1, 0, a3),
];

const VOLUME = vol(pt(10, 5), pt(20, 3, 100), pt(null, 1, 50));
/** VOLUME's tiers in the answer when all `q` units are priced in tier `i` (-1: none) for `a`. */
const v = (i: number, q: number, a: Amount) => [
  i === 0 ? t(10, q, 5, 0, a) : t(10, 0, 5, 0, 0),
  i === 1 ? t(20, q, 3, 100, a) : t(20, 0, 3, 0, 0),
  i === 2 ? t(null, q, 1, 50, a) : t(null, 0, 1, 0, 0),
];

const PACKAGE = pkg(1000, 200);
const ok = (billable: number, amount: number, tiers?: PricedTier[]): ExpectedLine =>
  tiers ? { billable, amount, tiers } : { billable, amount };
/** One row: what is priced, then what `priceLine` answers (or the RangeError it throws). */
const c = (
  name: string,
  price: PriceModel,
  quantity: number,
  included: number,
  outcome: ExpectedLine | RegExp,
): PricingCase =>
  outcome instanceof RegExp
    ? { name, price, quantity, included, throws: outcome }
    : { name, price, quantity, included, expected: outcome };

// One row per line: name, price, quantity, included, then the answer. Kept unformatted on
// purpose: a row a line reads as a table, prettier would spread each over seven.
// prettier-ignore
export const PRICING_CASES: PricingCase[] = [
  // flat: billable × unitAmount
  c('flat: no usage, no charge', flat(2), 0, 0, ok(0, 0)),
  c('flat: 7 × 2 = 14', flat(2), 7, 0, ok(7, 14)),
  c('flat: 10 − 3 included = 7, × 2 = 14', flat(2), 10, 3, ok(7, 14)),
  c('flat: usage exactly at included is free', flat(2), 3, 3, ok(0, 0)),
  c('flat: included above usage, billable 0', flat(2), 2, 5, ok(0, 0)),
  c('flat: a negative quantity (a sum meter) bills 0', flat(2), -5, 0, ok(0, 0)),
  c('flat: 1 × "0.5" = 0.5, exactly half, rounds up to 1', flat('0.5'), 1, 0, ok(1, 1)),
  c('flat: 3 × "0.5" = 1.5 rounds up to 2', flat('0.5'), 3, 0, ok(3, 2)),
  c('flat: 4 × "0.5" = 2 exactly', flat('0.5'), 4, 0, ok(4, 2)),
  c('flat: 1 × "0.499999999999", just below half, rounds to 0', flat('0.499999999999'), 1, 0,
    ok(1, 0)),
  c('flat: 1 × "0.333" = 0.333 rounds to 0', flat('0.333'), 1, 0, ok(1, 0)),
  c('flat: 2 × "0.333" = 0.666 rounds to 1', flat('0.333'), 2, 0, ok(2, 1)),
  c('flat: 1499 × "0.333" = 499.167 rounds to 499', flat('0.333'), 1499, 0, ok(1499, 499)),
  c('flat: 1500 × "0.333" = 499.5 exactly rounds up to 500', flat('0.333'), 1500, 0, ok(1500, 500)),
  c('flat: 1501 × "0.333" = 499.833 rounds to 500', flat('0.333'), 1501, 0, ok(1501, 500)),
  // a sum meter: 12.75 − 2 = 10.75; × 10 = 107.5 → 108
  c('flat: fractional quantity 12.75 − 2 = 10.75, × 10 = 107.5 → 108', flat(10), 12.75, 2,
    ok(10.75, 108)),
  // exactly 1.15 − 1 = 0.15, × 10 = 1.5 → 2; in floats 0.1499999999999999 × 10 → 1
  c('flat: billable 1.15 − 1 is exactly 0.15, so × 10 = 1.5 → 2', flat(10), 1.15, 1, ok(0.15, 2)),
  c('flat: (2^53 − 1) × 0 = 0', flat(0), MAX, 0, ok(MAX, 0)),
  c('flat: (2^53 − 1) × 1 = 2^53 − 1, the largest safe amount', flat(1), MAX, 0, ok(MAX, MAX)),
  c('flat: 1e300 × 0 = 0', flat(0), 1e300, 0, ok(1e300, 0)),
  c('flat: 2^53 × 1 is past the safe range', flat(1), 2 ** 53, 0,
    /line amount of 9007199254740992 minor units exceeds Number\.MAX_SAFE_INTEGER/),
  c('flat: (2^53 − 1) × 2 is past the safe range', flat(2), MAX, 0,
    /exceeds Number\.MAX_SAFE_INTEGER/),

  // graduated (GRADUATED): (0, 10] at 5; (10, 20] at 3, + 100 once reached; above 20 at 1
  c('graduated: 0 reaches no tier, not even a flatAmount', GRADUATED, 0, 0,
    ok(0, 0, g(0, 0, 0, 0, 0, 0))),
  // 1 × 5 = 5
  c('graduated: 1 unit in tier 1', GRADUATED, 1, 0, ok(1, 5, g(1, 0, 0, 5, 0, 0))),
  // 10 × 5 = 50; tier 2 not reached, so no 100
  c('graduated: 10, the first edge, stays in tier 1', GRADUATED, 10, 0,
    ok(10, 50, g(10, 0, 0, 50, 0, 0))),
  // 10 × 5 = 50; 1 × 3 + 100 = 103; 50 + 103 = 153
  c('graduated: 11 reaches tier 2 and its flatAmount', GRADUATED, 11, 0,
    ok(11, 153, g(10, 1, 0, 50, 103, 0))),
  // 50; 10 × 3 + 100 = 130; 180
  c('graduated: 20, the second edge', GRADUATED, 20, 0, ok(20, 180, g(10, 10, 0, 50, 130, 0))),
  // 50 + 130 + 1 × 1 = 181
  c('graduated: 21 reaches the open tier', GRADUATED, 21, 0, ok(21, 181, g(10, 10, 1, 50, 130, 1))),
  // 25 − 10 = 15: 50; 5 × 3 + 100 = 115; 165
  c('graduated: included comes off before the tiers', GRADUATED, 25, 10,
    ok(15, 165, g(10, 5, 0, 50, 115, 0))),
  c('graduated: included above usage reaches no tier', GRADUATED, 5, 10,
    ok(0, 0, g(0, 0, 0, 0, 0, 0))),
  // 50; 0.5 × 3 + 100 = 101.5; 151.5 → 152
  c('graduated: fractional 10.5 puts 0.5 in tier 2; tier amounts stay exact', GRADUATED, 10.5, 0,
    ok(10.5, 152, g(10, 0.5, 0, 50, '101.5', 0))),
  // 0.4 + 0.4 = 0.8 → 1; rounding each tier would give 0 + 0 = 0
  c('graduated: rounded once per line, not per tier', grad(pt(1, '0.4'), pt(null, '0.4')), 2, 0,
    ok(2, 1, [t(1, 1, '0.4', 0, '0.4'), t(null, 1, '0.4', 0, '0.4')])),
  // 1000 × 0.5 = 500; 3 × 0.333 + 0.25 = 1.249; 501.249 → 501
  c('graduated: fractional unit and flat amounts',
    grad(pt(1000, '0.5'), pt(null, '0.333', '0.25')), 1003, 0,
    ok(1003, 501, [t(1000, 1000, '0.5', 0, 500), t(null, 3, '0.333', '0.25', '1.249')])),
  // 1 × 0 + 0.5 = 0.5; (2^53 − 2) × 1; sum 2^53 − 1.5 → 2^53 − 1
  c('graduated: half rounding up to exactly 2^53 − 1 is still safe',
    grad(pt(1, 0, '0.5'), pt(null, 1)), MAX, 0,
    ok(MAX, MAX, [t(1, 1, 0, '0.5', '0.5'), t(null, MAX - 1, 1, 0, MAX - 1)])),
  // 1.5 + (2^53 − 2) = 2^53 − 0.5 → 2^53
  c('graduated: half rounding up to 2^53 is past the safe range',
    grad(pt(1, 0, '1.5'), pt(null, 1)), MAX, 0,
    /line amount of 9007199254740992 minor units exceeds/),

  // volume (VOLUME): all at 5 up to 10; all at 3 + 100 up to 20; all at 1 + 50 above
  c('volume: 0 applies no tier, not even the first', VOLUME, 0, 0, ok(0, 0, v(-1, 0, 0))),
  c('volume: 1 × 5 = 5', VOLUME, 1, 0, ok(1, 5, v(0, 1, 5))),
  c('volume: 10 × 5 = 50 at the first edge', VOLUME, 10, 0, ok(10, 50, v(0, 10, 50))),
  // 11 × 3 + 100 = 133
  c('volume: 11 moves every unit to tier 2, with its flatAmount', VOLUME, 11, 0,
    ok(11, 133, v(1, 11, 133))),
  // 20 × 3 + 100 = 160
  c('volume: 20 at the second edge', VOLUME, 20, 0, ok(20, 160, v(1, 20, 160))),
  // 21 × 1 + 50 = 71 < 160: a volume total can fall as usage grows
  c('volume: 21 costs less than 20 (a cheaper top tier)', VOLUME, 21, 0, ok(21, 71, v(2, 21, 71))),
  // 30 − 20 = 10, in tier 1: 10 × 5 = 50
  c('volume: the tier is chosen by billable, after included', VOLUME, 30, 20,
    ok(10, 50, v(0, 10, 50))),
  c('volume: included above usage applies no tier', VOLUME, 3, 4, ok(0, 0, v(-1, 0, 0))),
  // 10.5 > 10, tier 2: 10.5 × 3 + 100 = 131.5 → 132
  c('volume: fractional 10.5 is past the first edge', VOLUME, 10.5, 0,
    ok(10.5, 132, v(1, 10.5, '131.5'))),
  // 100 × 0.5 + 0.5 = 50.5 → 51
  c('volume: 100 × "0.5" + "0.5" = 50.5 → 51', vol(pt(100, '0.5', '0.5'), pt(null, '0.25')), 100, 0,
    ok(100, 51, [t(100, 100, '0.5', '0.5', '50.5'), t(null, 0, '0.25', 0, 0)])),
  // 101 × 0.25 = 25.25 → 25; tier 1's flatAmount is not charged
  c('volume: 101 × "0.25" = 25.25 → 25', vol(pt(100, '0.5', '0.5'), pt(null, '0.25')), 101, 0,
    ok(101, 25, [t(100, 0, '0.5', 0, 0), t(null, 101, '0.25', 0, '25.25')])),
  c('volume: (2^53 − 1) × 1 in one open tier', vol(pt(null, 1)), MAX, 0,
    ok(MAX, MAX, [t(null, MAX, 1, 0, MAX)])),

  // package (PACKAGE): ceil(billable / 1000) × 200
  c('package: no usage buys no package', PACKAGE, 0, 0, ok(0, 0)),
  c('package: 1 unit buys a whole package', PACKAGE, 1, 0, ok(1, 200)),
  c('package: 1000 is exactly one package', PACKAGE, 1000, 0, ok(1000, 200)),
  c('package: 1001, one over, buys two', PACKAGE, 1001, 0, ok(1001, 400)),
  c('package: 2000, an exact multiple, buys two', PACKAGE, 2000, 0, ok(2000, 400)),
  // 1500 − 500 = 1000 → 1 package
  c('package: included comes off first', PACKAGE, 1500, 500, ok(1000, 200)),
  // ceil(10.5 / 10) = 2; 2 × 7 = 14
  c('package: fractional 10.5 / 10 rounds up to 2 packages', pkg(10, 7), 10.5, 0, ok(10.5, 14)),
  // 1e-21 / 1 is 0 at big.js's 20 decimal places, yet it is usage: ceil = 1; 1 × 3 = 3
  c('package: a tiny 1e-21 still buys a package', pkg(1, 3), 1e-21, 0, ok(1e-21, 3)),
  // 3 × 0.5 = 1.5 → 2
  c('package: 3 × "0.5" = 1.5 → 2', pkg(1, '0.5'), 3, 0, ok(3, 2)),
  c('package: (2^53 − 1) packages × 1', pkg(1, 1), MAX, 0, ok(MAX, MAX)),
  c('package: (2^53 − 1) packages × 0', pkg(1, 0), MAX, 0, ok(MAX, 0)),
];
